//! Container names: the alphabet Docker allows, and the names Docker makes up when none is
//! given — `adjective_surname`, after Docker's namesgenerator (moby's `pkg/namesgenerator`):
//! an adjective and the surname of a notable scientist or engineer. The caller holds the
//! records lock ([`crate::record::lock`]) while it picks one and makes the container, so a
//! name is never given twice.

use std::io::Read;

use super::error::{EngineError, Result};

const ADJECTIVES: &[&str] = &[
    "admiring",
    "adoring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "beautiful",
    "blissful",
    "bold",
    "boring",
    "brave",
    "busy",
    "charming",
    "clever",
    "compassionate",
    "competent",
    "condescending",
    "confident",
    "cool",
    "cranky",
    "crazy",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "eloquent",
    "epic",
    "exciting",
    "fervent",
    "festive",
    "flamboyant",
    "focused",
    "friendly",
    "frosty",
    "funny",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "great",
    "happy",
    "hardcore",
    "heuristic",
    "hopeful",
    "hungry",
    "infallible",
    "inspiring",
    "intelligent",
    "interesting",
    "jolly",
    "jovial",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "magical",
    "modest",
    "musing",
    "mystifying",
    "naughty",
    "nervous",
    "nice",
    "nifty",
    "nostalgic",
    "objective",
    "optimistic",
    "peaceful",
    "pedantic",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "quizzical",
    "recursing",
    "relaxed",
    "reverent",
    "romantic",
    "sad",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "strange",
    "stupefied",
    "suspicious",
    "sweet",
    "tender",
    "thirsty",
    "trusting",
    "unruffled",
    "upbeat",
    "vibrant",
    "vigilant",
    "vigorous",
    "wizardly",
    "wonderful",
    "xenodochial",
    "youthful",
    "zealous",
    "zen",
];

const SURNAMES: &[&str] = &[
    "agnesi",
    "albattani",
    "allen",
    "almeida",
    "antonelli",
    "archimedes",
    "ardinghelli",
    "aryabhata",
    "austin",
    "babbage",
    "banach",
    "bardeen",
    "bartik",
    "bassi",
    "beaver",
    "bell",
    "benz",
    "bhabha",
    "bhaskara",
    "black",
    "blackburn",
    "blackwell",
    "bohr",
    "booth",
    "borg",
    "bose",
    "bouman",
    "boyd",
    "brahmagupta",
    "brattain",
    "brown",
    "buck",
    "burnell",
    "cannon",
    "carson",
    "cartwright",
    "carver",
    "cerf",
    "chandrasekhar",
    "chaplygin",
    "chatelet",
    "chatterjee",
    "chaum",
    "chebyshev",
    "clarke",
    "cohen",
    "colden",
    "cori",
    "cray",
    "curie",
    "curran",
    "darwin",
    "davinci",
    "dewdney",
    "dhawan",
    "diffie",
    "dijkstra",
    "dirac",
    "driscoll",
    "dubinsky",
    "easley",
    "edison",
    "einstein",
    "elbakyan",
    "elgamal",
    "elion",
    "ellis",
    "engelbart",
    "euclid",
    "euler",
    "faraday",
    "feistel",
    "fermat",
    "fermi",
    "feynman",
    "franklin",
    "gagarin",
    "galileo",
    "galois",
    "ganguly",
    "gates",
    "gauss",
    "germain",
    "goldberg",
    "goldstine",
    "goldwasser",
    "golick",
    "goodall",
    "gould",
    "greider",
    "grothendieck",
    "haibt",
    "hamilton",
    "haslett",
    "hawking",
    "heisenberg",
    "hellman",
    "hermann",
    "herschel",
    "hertz",
    "heyrovsky",
    "hodgkin",
    "hofstadter",
    "hoover",
    "hopper",
    "hugle",
    "hypatia",
    "ishizaka",
    "jackson",
    "jang",
    "jemison",
    "jennings",
    "jepsen",
    "johnson",
    "joliot",
    "jones",
    "kalam",
    "kapitsa",
    "kare",
    "keldysh",
    "keller",
    "kepler",
    "khayyam",
    "khorana",
    "kilby",
    "kirch",
    "knuth",
    "kowalevski",
    "lalande",
    "lamarr",
    "lamport",
    "leakey",
    "leavitt",
    "lederberg",
    "lehmann",
    "lewin",
    "lichterman",
    "liskov",
    "lovelace",
    "lumiere",
    "mahavira",
    "margulis",
    "matsumoto",
    "maxwell",
    "mayer",
    "mccarthy",
    "mcclintock",
    "mclaren",
    "mclean",
    "mcnulty",
    "meitner",
    "mendel",
    "mendeleev",
    "meninsky",
    "merkle",
    "mestorf",
    "mirzakhani",
    "montalcini",
    "moore",
    "morse",
    "moser",
    "murdock",
    "napier",
    "nash",
    "neumann",
    "newton",
    "nightingale",
    "nobel",
    "noether",
    "northcutt",
    "noyce",
    "panini",
    "pare",
    "pascal",
    "pasteur",
    "payne",
    "perlman",
    "pike",
    "poincare",
    "poitras",
    "proskuriakova",
    "ptolemy",
    "raman",
    "ramanujan",
    "rhodes",
    "ride",
    "ritchie",
    "robinson",
    "roentgen",
    "rosalind",
    "rubin",
    "saha",
    "sammet",
    "sanderson",
    "satoshi",
    "shamir",
    "shannon",
    "shaw",
    "shirley",
    "shockley",
    "shtern",
    "sinoussi",
    "snyder",
    "solomon",
    "spence",
    "stonebraker",
    "sutherland",
    "swanson",
    "swartz",
    "swirles",
    "taussig",
    "tesla",
    "tharp",
    "thompson",
    "torvalds",
    "tu",
    "turing",
    "varahamihira",
    "vaughan",
    "villani",
    "visvesvaraya",
    "volhard",
    "wescoff",
    "wilbur",
    "wiles",
    "williams",
    "williamson",
    "wilson",
    "wing",
    "wozniak",
    "wright",
    "wu",
    "yalow",
    "yonath",
    "zhukovsky",
];

/// Container names: Docker's alphabet, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn validate(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidName(name.to_string()))
    }
}

/// A made-up name that `taken` does not refuse: as the Docker daemon does, a few random
/// `adjective_surname`s, then with a random digit appended; in the (astronomically unlikely)
/// case that all of those are taken, the container's short id, made unique with digits.
pub fn generate(short_id: &str, taken: impl Fn(&str) -> bool) -> String {
    let mut random = Random::new();
    for attempt in 0..6 {
        let name = random_name(&mut random, attempt);
        if !taken(&name) {
            return name;
        }
    }
    let mut name = short_id.to_string();
    while taken(&name) {
        name.push(char::from(b'0' + (random.next() % 10) as u8));
    }
    name
}

/// One `adjective_surname` (`retry` > 0: with a digit appended). Steve Wozniak is not boring.
fn random_name(random: &mut Random, retry: u32) -> String {
    loop {
        let adjective = ADJECTIVES[(random.next() % ADJECTIVES.len() as u64) as usize];
        let surname = SURNAMES[(random.next() % SURNAMES.len() as u64) as usize];
        if (adjective, surname) == ("boring", "wozniak") {
            continue;
        }
        let mut name = format!("{adjective}_{surname}");
        if retry > 0 {
            name.push(char::from(b'0' + (random.next() % 10) as u8));
        }
        return name;
    }
}

/// Random numbers from the kernel; should /dev/urandom be unreadable (a broken chroot), a
/// generator seeded from the time and the pid.
enum Random {
    Kernel(std::fs::File),
    Seeded(u64),
}

impl Random {
    fn new() -> Random {
        match std::fs::File::open("/dev/urandom") {
            Ok(f) => Random::Kernel(f),
            Err(_) => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                Random::Seeded(nanos ^ (u64::from(std::process::id()) << 32) | 1)
            }
        }
    }

    fn next(&mut self) -> u64 {
        match self {
            Random::Kernel(f) => {
                let mut b = [0u8; 8];
                if f.read_exact(&mut b).is_ok() {
                    return u64::from_le_bytes(b);
                }
                *self = Random::Seeded(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
                self.next()
            }
            Random::Seeded(x) => {
                // xorshift64
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                *x
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_lists_are_large_lowercase_and_without_repeats() {
        for (what, list, min) in [("adjectives", ADJECTIVES, 100), ("surnames", SURNAMES, 200)] {
            assert!(list.len() >= min, "{what}: {}", list.len());
            let set: BTreeSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len(), "{what} repeat a word");
            for w in list {
                assert!(w.bytes().all(|b| b.is_ascii_lowercase()), "{what}: {w:?}");
            }
        }
    }

    #[test]
    fn names_are_adjective_surname_and_valid() {
        let mut r = Random::new();
        for retry in [0, 1] {
            for _ in 0..500 {
                let name = random_name(&mut r, retry);
                validate(&name).unwrap();
                let (a, s) = name.split_once('_').unwrap();
                assert!(ADJECTIVES.contains(&a), "{name}");
                let digits = s.trim_start_matches(|c: char| c.is_ascii_lowercase());
                assert!(SURNAMES.contains(&&s[..s.len() - digits.len()]), "{name}");
                assert_eq!(digits.len(), retry as usize, "{name}");
                assert_ne!(name, "boring_wozniak");
            }
        }
    }

    #[test]
    fn a_taken_name_is_never_given() {
        let mut taken = BTreeSet::new();
        for _ in 0..2000 {
            let name = generate("0123456789ab", |n| taken.contains(n));
            assert!(taken.insert(name.clone()), "{name} given twice");
        }
        // With every random name refused, the short id (made unique) is the answer.
        let name = generate("0123456789ab", |n| n.contains('_') || n == "0123456789ab");
        assert!(
            name.starts_with("0123456789ab") && name.len() == 13,
            "{name}"
        );
    }

    #[test]
    fn dockers_alphabet() {
        for ok in ["a", "web-1", "A.b_c", "9"] {
            validate(ok).unwrap();
        }
        for bad in ["", "-a", "_a", ".a", "a b", "a/b", "é"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
