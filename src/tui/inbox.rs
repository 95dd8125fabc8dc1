//! The conversation list as a bounded window over a keyset-paginated inbox.
//! Rows are kept newest first; at most `max_pages` pages are held, the far
//! end is dropped as the cursor moves, and `has_newer` / `has_older` say
//! whether the database has rows beyond either end of the window.

use crate::db::conversations::{ConversationRow, Cursor, Page, StatusFilter};

/// Which page request is outstanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageDir {
    First,
    Last,
    Newer,
    Older,
    /// Reload the window in place, starting at its first row.
    Reload,
}

#[derive(Debug, Clone)]
pub struct Inbox {
    pub filter: StatusFilter,
    pub rows: Vec<ConversationRow>,
    pub selected: usize,
    /// First row drawn (the view keeps the selection inside).
    pub top: usize,
    pub has_newer: bool,
    pub has_older: bool,
    /// The request in flight, if any: (request id, direction).
    pub loading: Option<(u64, PageDir)>,
    /// Nothing loaded yet for this filter.
    pub loaded_once: bool,
    pub page_size: usize,
    pub max_pages: usize,
}

fn newer_first(a: &ConversationRow, b: &ConversationRow) -> std::cmp::Ordering {
    (b.last_message_at, b.id).cmp(&(a.last_message_at, a.id))
}

impl Inbox {
    pub fn new(filter: StatusFilter, page_size: usize) -> Inbox {
        Inbox {
            filter,
            rows: Vec::new(),
            selected: 0,
            top: 0,
            has_newer: false,
            has_older: false,
            loading: None,
            loaded_once: false,
            page_size: page_size.clamp(5, 1000),
            max_pages: 5,
        }
    }

    pub fn max_rows(&self) -> usize {
        self.page_size * self.max_pages
    }

    pub fn selected_row(&self) -> Option<&ConversationRow> {
        self.rows.get(self.selected)
    }

    pub fn selected_id(&self) -> Option<i64> {
        self.selected_row().map(|r| r.id)
    }

    /// Forget everything (new filter or full reload from the top).
    pub fn reset(&mut self, filter: StatusFilter) {
        *self = Inbox {
            page_size: self.page_size,
            max_pages: self.max_pages,
            ..Inbox::new(filter, self.page_size)
        };
    }

    /// Move the selection by `delta` rows within what is loaded.
    pub fn move_by(&mut self, delta: isize) {
        if self.rows.is_empty() {
            self.selected = 0;
            return;
        }
        let last = self.rows.len() - 1;
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// Keep the selection on screen for a list `height` rows tall.
    pub fn scroll_into_view(&mut self, height: usize) {
        let height = height.max(1);
        if self.selected < self.top {
            self.top = self.selected;
        } else if self.selected >= self.top + height {
            self.top = self.selected + 1 - height;
        }
        let max_top = self.rows.len().saturating_sub(height);
        self.top = self.top.min(max_top);
    }

    /// The page to fetch next, if the cursor is near an end of the window
    /// and nothing is in flight.
    pub fn wants(&self) -> Option<(Page, PageDir)> {
        if self.loading.is_some() || !self.loaded_once {
            return None;
        }
        let margin = (self.page_size / 2).max(3);
        let remaining_below = self.rows.len().saturating_sub(self.selected + 1);
        if self.has_older && remaining_below < margin {
            let last = self.rows.last()?;
            return Some((Page::After(last.cursor()), PageDir::Older));
        }
        if self.has_newer && self.selected < margin {
            let first = self.rows.first()?;
            return Some((Page::Before(first.cursor()), PageDir::Newer));
        }
        None
    }

    /// The page that reloads the window where it stands: from the top when
    /// at the top, else starting at (and including) the first loaded row.
    pub fn reload_page(&self) -> Page {
        match self.rows.first() {
            Some(first) if self.has_newer => Page::After(Cursor {
                last_message_at: first.last_message_at,
                id: first.id.saturating_add(1),
            }),
            _ => Page::First,
        }
    }

    /// Apply a page that arrived for the request in flight.
    pub fn apply_page(&mut self, dir: PageDir, mut rows: Vec<ConversationRow>) {
        let full = rows.len() >= self.page_size;
        let keep_id = self.selected_id();
        self.loading = None;
        self.loaded_once = true;
        match dir {
            PageDir::First => {
                self.rows = rows;
                self.has_newer = false;
                self.has_older = full;
                self.selected = 0;
                self.top = 0;
            }
            PageDir::Last => {
                self.rows = rows;
                self.has_older = false;
                self.has_newer = full;
                self.selected = self.rows.len().saturating_sub(1);
                self.top = self.selected;
            }
            PageDir::Reload => {
                let offset = self.selected.saturating_sub(self.top);
                self.rows = rows;
                self.has_older = full;
                self.reselect(keep_id, offset);
            }
            PageDir::Older => {
                rows.retain(|r| !self.rows.iter().any(|o| o.id == r.id));
                self.rows.extend(rows);
                self.has_older = full;
                let excess = self.rows.len().saturating_sub(self.max_rows());
                if excess > 0 {
                    self.rows.drain(..excess);
                    self.selected = self.selected.saturating_sub(excess);
                    self.top = self.top.saturating_sub(excess);
                    self.has_newer = true;
                }
            }
            PageDir::Newer => {
                rows.retain(|r| !self.rows.iter().any(|o| o.id == r.id));
                let added = rows.len();
                rows.append(&mut self.rows);
                self.rows = rows;
                self.selected += added;
                self.top += added;
                self.has_newer = full;
                if self.rows.len() > self.max_rows() {
                    self.rows.truncate(self.max_rows());
                    self.has_older = true;
                    self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                }
            }
        }
    }

    fn reselect(&mut self, id: Option<i64>, offset: usize) {
        match id.and_then(|id| self.rows.iter().position(|r| r.id == id)) {
            Some(i) => {
                self.selected = i;
                self.top = i.saturating_sub(offset);
            }
            None => {
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                self.top = self.top.min(self.selected);
            }
        }
    }

    /// Would a row with this cursor sit inside the loaded window?
    fn in_window(&self, row: &ConversationRow) -> bool {
        let key = (row.last_message_at, row.id);
        let above_last = match self.rows.last() {
            Some(last) => !self.has_older || key >= (last.last_message_at, last.id),
            None => true,
        };
        let below_first = match self.rows.first() {
            Some(first) => !self.has_newer || key <= (first.last_message_at, first.id),
            None => true,
        };
        above_last && below_first
    }

    /// Fresh state of some conversations (live update): replace, move,
    /// insert or drop rows so the window stays ordered and filtered.
    /// `gone` are ids asked for that no longer exist. Returns true when the
    /// selected row was removed.
    pub fn upsert(&mut self, fresh: Vec<ConversationRow>, gone: &[i64]) -> bool {
        let keep_id = self.selected_id();
        let offset = self.selected.saturating_sub(self.top);
        let ids: Vec<i64> = fresh
            .iter()
            .map(|r| r.id)
            .chain(gone.iter().copied())
            .collect();
        self.rows.retain(|r| !ids.contains(&r.id));
        for row in fresh {
            if self.filter.admits(row.status) && self.in_window(&row) {
                let at = self
                    .rows
                    .partition_point(|r| newer_first(r, &row) == std::cmp::Ordering::Less);
                self.rows.insert(at, row);
            }
        }
        let removed = keep_id.is_some_and(|id| !self.rows.iter().any(|r| r.id == id));
        if removed {
            // Stay at the same position: the next row moves under the cursor.
            self.selected = self.selected.min(self.rows.len().saturating_sub(1));
            self.top = self.top.min(self.selected);
        } else {
            self.reselect(keep_id, offset);
        }
        removed
    }

    pub fn select_id(&mut self, id: i64) -> bool {
        match self.rows.iter().position(|r| r.id == id) {
            Some(i) => {
                self.selected = i;
                true
            }
            None => false,
        }
    }
}
