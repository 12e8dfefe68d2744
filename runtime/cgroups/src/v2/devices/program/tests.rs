use proptest::prelude::*;

use super::super::interp::{run, Ctx};
use super::*;
use crate::device_rules::test_support::{
    access, arb_rule, arb_rule_with, every_device, every_device_with, rules,
};
use crate::device_rules::Device;

/// The rules hullrt's create gives a container whose config starts with "deny all": the
/// default devices of the OCI spec, /dev/console, /dev/ptmx and /dev/pts/*
/// (`with_default_device_rules` in hull-oci's create).
const HULLRT_DEFAULTS: &[&str] = &[
    "deny a *:* rwm",
    "allow c 1:3 rwm",
    "allow c 1:5 rwm",
    "allow c 1:7 rwm",
    "allow c 1:8 rwm",
    "allow c 1:9 rwm",
    "allow c 5:0 rwm",
    "allow c 5:1 rwm",
    "allow c 5:2 rwm",
    "allow c 136:* rwm",
];

/// `device("c 1:3")`
fn device(text: &str) -> Device {
    let (kind, numbers) = text.split_once(' ').unwrap();
    let (major, minor) = numbers.split_once(':').unwrap();
    Device {
        kind: match kind {
            "b" => DeviceKind::Block,
            "c" => DeviceKind::Char,
            _ => panic!("{text}"),
        },
        major: major.parse().unwrap(),
        minor: minor.parse().unwrap(),
    }
}

/// What the program answers for `device` asked `asked`.
fn program_allows(insns: &[Insn], device: &Device, asked: Access) -> bool {
    let kind = match device.kind {
        DeviceKind::Block => DEV_BLOCK,
        DeviceKind::Char => DEV_CHAR,
        DeviceKind::All => unreachable!(),
    };
    let ctx = Ctx {
        access_type: (u32::from(asked.bits()) << 16) | kind,
        major: device.major,
        minor: device.minor,
    };
    match run(insns, ctx) {
        0 => false,
        1 => true,
        other => panic!("R0 = {other} at exit"),
    }
}

/// Run the program of `list` on each (device, access, expected verdict) of `table`.
fn check(list: &[&str], table: &[(&str, &str, bool)]) {
    let policy = DevicePolicy::fold(&rules(list)).unwrap();
    let insns = program(&policy);
    for &(dev, asked, expected) in table {
        let got = program_allows(&insns, &device(dev), access(asked));
        assert_eq!(got, expected, "{list:?}: {dev} {asked}");
    }
}

#[test]
fn the_default_hullrt_rules_allow_the_default_devices_only() {
    check(
        HULLRT_DEFAULTS,
        &[
            ("c 1:3", "rw", true),
            ("c 1:3", "m", true),
            ("c 1:5", "r", true),
            ("c 1:9", "rw", true),
            ("c 5:2", "rw", true),
            ("c 136:0", "rw", true),
            ("c 136:4095", "w", true),
            ("c 1:1", "r", false),     // /dev/mem
            ("c 1:4", "rw", false),    // /dev/port
            ("c 10:200", "rw", false), // /dev/net/tun
            ("c 137:0", "r", false),
            ("b 7:0", "m", false),
            ("b 8:0", "r", false),
            ("b 1:3", "r", false), // a block device with /dev/null's numbers
        ],
    );
}

#[test]
fn deny_all_denies_everything() {
    check(
        &["deny a *:* rwm"],
        &[
            ("c 1:3", "r", false),
            ("c 1:3", "m", false),
            ("b 8:0", "rw", false),
            ("c 0:0", "w", false),
        ],
    );
}

#[test]
fn allow_all_allows_everything() {
    check(
        &["allow a *:* rwm"],
        &[
            ("c 1:3", "rw", true),
            ("b 8:0", "rw", true),
            ("b 7:0", "m", true),
            ("c 4294967295:4294967295", "r", true),
        ],
    );
}

#[test]
fn wildcard_majors_and_minors() {
    check(
        &["deny a *:* rwm", "allow c *:1 r", "allow b 8:* rw"],
        &[
            ("c 7:1", "r", true),
            ("c 0:1", "r", true),
            ("c 7:1", "w", false),
            ("c 7:2", "r", false),
            ("b 8:0", "rw", true),
            ("b 8:17", "w", true),
            ("b 8:0", "m", false),
            ("b 9:0", "r", false),
            ("c 8:0", "r", false),
        ],
    );
}

#[test]
fn a_later_rule_overrides_an_earlier_one() {
    check(
        &[
            "deny a *:* rwm",
            "allow c 1:3 rwm",
            "deny c 1:3 w",
            "allow c 1:5 r",
            "deny c 1:5 r",
            "allow c 1:5 w",
        ],
        &[
            ("c 1:3", "r", true),
            ("c 1:3", "m", true),
            ("c 1:3", "w", false),
            ("c 1:3", "rw", false),
            ("c 1:5", "r", false),
            ("c 1:5", "w", true),
        ],
    );
    check(
        &[
            "allow a *:* rwm",
            "deny c 1:3 w",
            "deny b *:* m",
            "deny c 1:5 rw",
            "allow c 1:5 w",
        ],
        &[
            ("c 1:3", "r", true),
            ("c 1:3", "w", false),
            ("c 1:3", "rw", false), // an open for reading and writing asks for both
            ("b 8:0", "m", false),
            ("b 8:0", "rw", true),
            ("c 1:5", "w", true),
            ("c 1:5", "rw", false),
            ("c 2:0", "rwm", true),
        ],
    );
}

#[test]
fn an_a_rule_resets_what_came_before() {
    check(
        &["allow c 1:3 rwm", "deny a *:* rwm", "allow c 1:5 r"],
        &[("c 1:3", "r", false), ("c 1:5", "r", true)],
    );
    check(
        &["deny c 1:3 rwm", "allow a *:* rwm"],
        &[("c 1:3", "rw", true)],
    );
}

#[test]
fn mknod_only() {
    check(
        &["deny a *:* rwm", "allow c *:* m", "allow b *:* m"],
        &[
            ("c 1:3", "m", true),
            ("b 7:0", "m", true),
            ("c 1:3", "r", false),
            ("b 7:0", "rw", false),
            ("c 1:3", "rm", false),
        ],
    );
}

#[test]
fn block_and_char_are_different_devices() {
    check(
        &["deny a *:* rwm", "allow b 1:3 rwm"],
        &[("b 1:3", "r", true), ("c 1:3", "r", false)],
    );
    check(
        &["allow a *:* rwm", "deny c 8:* rwm"],
        &[("b 8:0", "r", true), ("c 8:0", "r", false)],
    );
}

#[test]
fn numbers_above_i32_max_match_exactly() {
    check(
        &[
            "deny a *:* rwm",
            "allow c 4294967295:2147483648 rw",
            "allow b 2147483647:* r",
        ],
        &[
            ("c 4294967295:2147483648", "rw", true),
            ("c 4294967295:2147483647", "r", false),
            ("c 2147483647:2147483648", "r", false),
            ("c 4294967295:0", "r", false),
            ("b 2147483647:5", "r", true),
            ("b 4294967295:5", "r", false),
        ],
    );
}

#[test]
fn every_program_is_a_prologue_blocks_and_a_default() {
    assert_eq!(std::mem::size_of::<Insn>(), 8, "struct bpf_insn is 8 bytes");
    let policy = DevicePolicy::fold(&rules(HULLRT_DEFAULTS)).unwrap();
    let insns = program(&policy);
    // 6 loads, 9 exceptions of at most 5 instructions, "R0 = 0; exit".
    assert!(insns.len() <= 6 + 9 * 5 + 2, "{} instructions", insns.len());
    assert_eq!(insns[insns.len() - 2..], verdict(false));
    let deny_all = program(&DevicePolicy::fold(&rules(&["deny a *:* rwm"])).unwrap());
    assert_eq!(deny_all.len(), 8);
}

/// Numbers at the edges of the immediate's range, where a sign-extension slip would show.
const EDGES: &[u32] = &[0, 1, i32::MAX as u32, 1 << 31, u32::MAX];

proptest! {
    #[test]
    fn the_program_answers_as_the_policy(list in proptest::collection::vec(arb_rule(), 0..10)) {
        if let Ok(policy) = DevicePolicy::fold(&list) {
            let insns = program(&policy);
            for device in every_device() {
                for bits in 0..8 {
                    let asked = Access::from_bits(bits);
                    prop_assert_eq!(
                        program_allows(&insns, &device, asked),
                        policy.allows(&device, asked),
                        "{:?} {:?} {}", list, device, asked
                    );
                }
            }
        }
    }

    #[test]
    fn large_numbers_are_compared_as_unsigned(
        list in proptest::collection::vec(arb_rule_with(EDGES), 0..8)
    ) {
        if let Ok(policy) = DevicePolicy::fold(&list) {
            let insns = program(&policy);
            for device in every_device_with(EDGES) {
                for bits in 1..8 {
                    let asked = Access::from_bits(bits);
                    prop_assert_eq!(
                        program_allows(&insns, &device, asked),
                        policy.allows(&device, asked),
                        "{:?} {:?} {}", list, device, asked
                    );
                }
            }
        }
    }
}
