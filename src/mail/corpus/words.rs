//! The corpus's vocabulary: names, items, places and sentence templates
//! (`{item}`, `{price}`, `{day}`, `{time}`, `{place}`, `{lead}`, `{rep}`).

/// (display, ASCII for the address).
pub(super) const FIRST_NAMES: [(&str, &str); 20] = [
    ("Maria", "maria"),
    ("James", "james"),
    ("Aisha", "aisha"),
    ("Wei", "wei"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Françoise", "francoise"),
    ("Søren", "soren"),
    ("Lucas", "lucas"),
    ("Fatima", "fatima"),
    ("Noah", "noah"),
    ("Olivia", "olivia"),
    ("Mateo", "mateo"),
    ("Priya", "priya"),
    ("Kofi", "kofi"),
    ("Hannah", "hannah"),
    ("Yuki", "yuki"),
    ("Renée", "renee"),
    ("Ivan", "ivan"),
    ("Chloé", "chloe"),
];

pub(super) const LAST_NAMES: [(&str, &str); 18] = [
    ("García", "garcia"),
    ("Smith", "smith"),
    ("Khan", "khan"),
    ("Müller", "muller"),
    ("Nguyễn", "nguyen"),
    ("O'Brien", "obrien"),
    ("Rossi", "rossi"),
    ("Tanaka", "tanaka"),
    ("田中", "tanaka"),
    ("Silva", "silva"),
    ("Petrov", "petrov"),
    ("Dubois", "dubois"),
    ("Johansson", "johansson"),
    ("Mensah", "mensah"),
    ("Lopez", "lopez"),
    ("Novak", "novak"),
    ("Ramírez", "ramirez"),
    ("Brown", "brown"),
];

pub(super) const LEAD_DOMAINS: [&str; 5] = [
    "gmail.example",
    "yahoo.example",
    "outlook.example",
    "proton.example",
    "web.example",
];

pub(super) const SOURCES: [&str; 4] = ["craigslist", "facebook_marketplace", "web", "kijiji"];

/// The zone reps write from (US Eastern), minutes east of UTC.
pub(super) const REP_UTC_OFFSET: i32 = -300;

/// Zones leads write from, minutes east of UTC.
pub(super) const UTC_OFFSETS: [i32; 6] = [-480, -300, 0, 60, 330, 540];

pub(super) const ITEMS: [(&str, u64); 12] = [
    ("2018 Trek FX 3 hybrid bike", 450),
    ("grey 3-seat sectional sofa", 650),
    ("solid oak dining table", 900),
    ("2014 Honda Civic LX", 9800),
    ("Yamaha FG800 acoustic guitar", 160),
    ("Canon EOS R camera body", 1100),
    ("café table with 2 chairs", 120),
    ("two-bedroom apartment on Elm St", 1850),
    ("Breville espresso machine", 450),
    ("Weber gas grill", 280),
    ("standing desk (electric, 60 in)", 300),
    ("Thule roof cargo box", 350),
];

pub(super) const SUBJECTS: [&str; 6] = [
    "Is the {item} still available?",
    "Question about your {item}",
    "{item} — still for sale?",
    "Interested in the {item}",
    "Réservation: {item}",
    "Offer for the {item}",
];

pub(super) const DAYS: [&str; 5] = [
    "Saturday",
    "Sunday",
    "tomorrow",
    "Friday evening",
    "this weekend",
];
pub(super) const TIMES: [&str; 5] = ["10am", "noon", "2pm", "4:30", "after 6"];
pub(super) const PLACES: [&str; 4] = [
    "the library on Main St",
    "the café on Oak Ave",
    "your place",
    "the parking lot by the station",
];

pub(super) const INBOUND_OPENING: [&str; 4] = [
    "I saw your ad for the {item} and I am very interested.",
    "Is the {item} still available? I could pick it up {day}.",
    "I'm writing about the {item} you listed for {price}.",
    "My partner and I have been looking for a {item} for weeks, and yours looks perfect.",
];

pub(super) const INBOUND_REPLY: [&str; 4] = [
    "Thanks for getting back to me so quickly.",
    "That sounds good to me, thank you for the details.",
    "Great, thanks — that answers most of my questions.",
    "Thank you, I appreciate the quick reply.",
];

pub(super) const INBOUND_MIDDLE: [&str; 8] = [
    "Could you tell me a bit more about its condition and how long you have had it?",
    "Would you take a little less than {price} if I pay in cash?",
    "I could come by {day} around {time} if that works for you.",
    "Are there any scratches, dents or other problems I should know about?",
    "Is the price firm, or is there some room to negotiate?",
    "Can you send a couple more photos, ideally in daylight?",
    "I live about twenty minutes away, so meeting at {place} would be easy.",
    "Do you still have the original receipt or the manual?",
];

pub(super) const INBOUND_CLOSING: [&str; 3] = [
    "Thanks in advance,",
    "Best regards,",
    "Looking forward to hearing from you,",
];

pub(super) const OUTBOUND_OPENING: [&str; 3] = [
    "Thanks for reaching out about the {item}.",
    "Yes, the {item} is still available.",
    "Thank you for your message and your interest in the {item}.",
];

pub(super) const OUTBOUND_MIDDLE: [&str; 7] = [
    "It is in very good condition, with only light signs of use.",
    "The asking price is {price}, and I can include delivery within ten miles.",
    "We could meet {day} at {time} at {place} if that suits you.",
    "I am happy to send more photos or a short video this evening.",
    "Several people have asked about it, so I would suggest seeing it soon.",
    "Cash or a bank transfer both work for me.",
    "It comes with everything that was in the original box.",
];

pub(super) const OUTBOUND_CLOSING: [&str; 3] = ["Kind regards,", "Talk soon,", "Best,"];
