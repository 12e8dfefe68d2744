use super::test_support::*;
use super::*;
use oci_spec::runtime::LinuxDeviceCgroupBuilder;
use proptest::prelude::*;

#[test]
fn oci_rules_become_kernel_rules() {
    let oci = |b: LinuxDeviceCgroupBuilder| DeviceRule::from_oci(&b.build().unwrap());
    let b = LinuxDeviceCgroupBuilder::default;
    assert_eq!(oci(b()).unwrap().to_string(), "deny a *:* rwm");
    assert_eq!(
        oci(b()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .access("wr"))
        .unwrap()
        .to_string(),
        "allow c 1:3 rw"
    );
    assert_eq!(
        oci(b().typ(LinuxDeviceType::B).major(-1).minor(-1).access("m"))
            .unwrap()
            .to_string(),
        "deny b *:* m"
    );
    assert_eq!(
        oci(b().major(u32::MAX as i64)).unwrap().pattern.major,
        Some(u32::MAX)
    );
}

#[test]
fn bad_oci_rules_are_refused_with_what_is_wrong() {
    let err = |b: LinuxDeviceCgroupBuilder| {
        DeviceRule::from_oci(&b.build().unwrap())
            .unwrap_err()
            .to_string()
    };
    let b = LinuxDeviceCgroupBuilder::default;
    assert_eq!(
        err(b().typ(LinuxDeviceType::P)),
        "cgroup: linux.resources.devices: type \"p\" is not a device cgroup type (use a, b or c)"
    );
    assert_eq!(
        err(b().access("rwx")),
        "cgroup: linux.resources.devices: access \"rwx\" may only contain r, w and m"
    );
    assert_eq!(
        err(b().minor(1i64 << 40)),
        "cgroup: linux.resources.devices: minor 1099511627776 is out of range (at most 4294967295)"
    );
}

#[test]
fn the_default_hullrt_list_allows_its_devices_only() {
    let policy = DevicePolicy::fold(&rules(&[
        "deny a *:* rwm",
        "allow c 1:3 rwm",
        "allow c 5:2 rwm",
        "allow c 136:* rwm",
    ]))
    .unwrap();
    assert!(!policy.default_allow());
    assert!(policy.allows(&char_dev(1, 3), access("rw")));
    assert!(policy.allows(&char_dev(136, 7), access("w")));
    assert!(!policy.allows(&char_dev(1, 5), access("r")));
    let block = Device {
        kind: DeviceKind::Block,
        major: 1,
        minor: 3,
    };
    assert!(!policy.allows(&block, access("r")));
}

#[test]
fn a_later_rule_overrides_an_earlier_one_on_the_same_pattern() {
    let policy =
        DevicePolicy::fold(&rules(&["allow c 1:3 rwm", "deny c 1:3 w", "deny c 1:3 m"])).unwrap();
    assert_eq!(
        policy.exceptions().collect::<Vec<_>>(),
        [(&rule("allow c 1:3 r").pattern, access("r"))]
    );
    let allowed_again = DevicePolicy::fold(&rules(&[
        "allow c 1:3 rw",
        "deny c 1:3 rw",
        "allow c 1:3 m",
    ]))
    .unwrap();
    assert!(allowed_again.allows(&char_dev(1, 3), access("m")));
    assert!(!allowed_again.allows(&char_dev(1, 3), access("r")));
}

#[test]
fn an_a_rule_resets_everything_before_it() {
    let policy = DevicePolicy::fold(&rules(&[
        "allow c 1:3 rwm",
        "allow a *:* rwm",
        "deny b 8:* w",
    ]))
    .unwrap();
    assert!(policy.default_allow());
    assert_eq!(policy.exceptions().count(), 1);
    let policy =
        DevicePolicy::fold(&rules(&["allow a *:* rwm", "deny c 1:3 r", "deny a 1:2 r"])).unwrap();
    assert!(!policy.default_allow());
    assert_eq!(policy.exceptions().count(), 0);
}

#[test]
fn narrowing_another_pattern_is_refused_as_the_kernel_would_ignore_it() {
    for (list, index) in [
        (&["allow c 1:* rw", "deny c 1:3 w"][..], 1),
        (&["allow c 1:3 rw", "deny c 1:* r"][..], 1),
        (&["allow c *:3 w", "deny c 1:* rw"][..], 1),
        (
            &["allow a *:* rwm", "deny b *:* m", "allow b 7:0 rm"][..],
            2,
        ),
    ] {
        let err = DevicePolicy::fold(&rules(list)).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("cgroup: linux.resources.devices[{index}]: ")),
            "{err}"
        );
        assert!(err.contains("silently ignore"), "{err}");
    }
    // Rights the other exception does not hold, or another kind, are no conflict.
    DevicePolicy::fold(&rules(&["allow c 1:* r", "deny c 1:3 w", "deny b 1:3 r"])).unwrap();
}

/// The v1 kernel's own algorithm (security/device_cgroup.c), written out naively: a list of
/// exceptions, merged by exact pattern, removed by exact pattern, matched as the kernel
/// matches them.
fn kernel_v1_allows(rules: &[DeviceRule], device: &Device, asked: Access) -> bool {
    let mut default_allow = false;
    let mut list: Vec<(Pattern, Access)> = Vec::new();
    for r in rules {
        if r.pattern.kind == DeviceKind::All {
            default_allow = r.allow;
            list.clear();
        } else if r.allow != default_allow {
            match list.iter_mut().find(|(p, _)| *p == r.pattern) {
                Some((_, a)) => *a = a.union(r.access),
                None => list.push((r.pattern, r.access)),
            }
        } else {
            for (p, a) in list.iter_mut() {
                if *p == r.pattern {
                    *a = a.minus(r.access);
                }
            }
            list.retain(|(_, a)| !a.is_empty());
        }
    }
    let mut named = list.iter().filter(|(p, _)| p.covers(device));
    if default_allow {
        !named.any(|(_, a)| a.intersects(asked))
    } else {
        named.any(|(_, a)| a.contains(asked))
    }
}

/// "The last rule that names this device and this right decides", read from the end.
fn last_word(rules: &[DeviceRule], device: &Device, right: Access) -> bool {
    rules
        .iter()
        .rev()
        .find(|r| {
            r.pattern.kind == DeviceKind::All
                || (r.pattern.covers(device) && r.access.contains(right))
        })
        .is_some_and(|r| r.allow)
}

proptest! {
    #[test]
    fn the_fold_gives_the_v1_kernels_verdict(list in proptest::collection::vec(arb_rule(), 0..8)) {
        if let Ok(policy) = DevicePolicy::fold(&list) {
            for device in every_device() {
                for bits in 0..8 {
                    let asked = Access::from_bits(bits);
                    prop_assert_eq!(
                        policy.allows(&device, asked),
                        kernel_v1_allows(&list, &device, asked),
                        "{:?} {:?} {}", list, device, asked
                    );
                }
            }
        }
    }

    #[test]
    fn on_an_accepted_list_the_last_rule_decides_each_right(
        list in proptest::collection::vec(arb_rule(), 0..8)
    ) {
        if let Ok(policy) = DevicePolicy::fold(&list) {
            for device in every_device() {
                for right in [Access::READ, Access::WRITE, Access::MKNOD] {
                    prop_assert_eq!(
                        policy.allows(&device, right),
                        last_word(&list, &device, right),
                        "{:?} {:?} {}", list, device, right
                    );
                }
            }
        }
    }
}
