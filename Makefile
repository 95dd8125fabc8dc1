.PHONY: demo test bench lint setup

demo:
	./scripts/demo.sh

test:
	./scripts/test.sh

bench:
	./scripts/bench.sh $(ARGS)

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

setup:
	./scripts/setup.sh
