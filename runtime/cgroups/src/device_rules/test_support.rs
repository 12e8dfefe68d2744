//! Rules in the kernel's notation and random ones, for the rules' tests and the program's.

use super::*;
use proptest::prelude::*;

/// `rule("allow c 1:3 rw")`: a rule in the kernel's own notation.
pub(crate) fn rule(text: &str) -> DeviceRule {
    let words: Vec<&str> = text.split_whitespace().collect();
    let [verb, kind, numbers, access] = words[..] else {
        panic!("{text:?}: want VERB TYPE MAJOR:MINOR ACCESS");
    };
    let kind = match kind {
        "a" => DeviceKind::All,
        "b" => DeviceKind::Block,
        "c" => DeviceKind::Char,
        _ => panic!("{text:?}: type"),
    };
    let (major, minor) = numbers.split_once(':').expect("MAJOR:MINOR");
    let number = |n: &str| (n != "*").then(|| n.parse().unwrap());
    DeviceRule {
        allow: verb == "allow",
        pattern: Pattern {
            kind,
            major: number(major),
            minor: number(minor),
        },
        access: Access::parse(access).unwrap(),
    }
}

pub(crate) fn rules(texts: &[&str]) -> Vec<DeviceRule> {
    texts.iter().map(|t| rule(t)).collect()
}

pub(crate) fn char_dev(major: u32, minor: u32) -> Device {
    Device {
        kind: DeviceKind::Char,
        major,
        minor,
    }
}

pub(crate) fn access(text: &str) -> Access {
    Access::parse(text).unwrap()
}

/// Any rule, with numbers from a small range so that patterns often meet.
pub(crate) fn arb_rule() -> impl Strategy<Value = DeviceRule> {
    arb_rule_with(&[0, 1, 2])
}

/// Any rule whose numbers, when given, are taken from `numbers`.
pub(crate) fn arb_rule_with(numbers: &'static [u32]) -> impl Strategy<Value = DeviceRule> {
    let kind = prop_oneof![
        1 => Just(DeviceKind::All),
        3 => Just(DeviceKind::Block),
        4 => Just(DeviceKind::Char),
    ];
    let number = proptest::option::of(proptest::sample::select(numbers));
    (any::<bool>(), kind, number.clone(), number, 1u8..8).prop_map(
        |(allow, kind, major, minor, bits)| DeviceRule {
            allow,
            pattern: Pattern { kind, major, minor },
            access: Access::from_bits(bits),
        },
    )
}

/// Every block and character device with numbers 0..4: one past [`arb_rule`]'s range.
pub(crate) fn every_device() -> Vec<Device> {
    every_device_with(&[0, 1, 2, 3])
}

/// Every block and character device whose numbers are in `numbers`.
pub(crate) fn every_device_with(numbers: &[u32]) -> Vec<Device> {
    let mut out = Vec::new();
    for kind in [DeviceKind::Block, DeviceKind::Char] {
        for &major in numbers {
            for &minor in numbers {
                out.push(Device { kind, major, minor });
            }
        }
    }
    out
}
