//! `linux.resources.devices`: each rule checked once for both managers, and the whole list
//! folded the way the v1 devices cgroup folds it, into what the v2 device program enforces.
//!
//! The v1 kernel keeps a default (allow or deny everything) and a list of exceptions, one per
//! exact pattern (`c 1:*`). A rule of type `a` sets the default and drops every exception; a
//! rule that disagrees with the default adds its access to the exception with its pattern; a
//! rule that agrees takes its access away from that exception only. That last step is where
//! the kernel silently keeps access the user meant to remove (`allow c 1:* rw` then
//! `deny c 1:3 w` leaves `c 1:3 w` allowed). runc refuses that case (a hole punched in a
//! wildcard); here any such rule is refused, also the wider one (`allow c 1:3 r` then
//! `deny c 1:* r`), so that on both versions, for every list accepted, the last rule naming a
//! device and a right is the one enforced (a property the tests check).

use std::collections::BTreeMap;
use std::fmt;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::{CgroupError, Result};

/// Which devices a rule names: `a` (all), `b` (block) or `c` (character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DeviceKind {
    All,
    Block,
    Char,
}

impl DeviceKind {
    fn letter(self) -> char {
        match self {
            Self::All => 'a',
            Self::Block => 'b',
            Self::Char => 'c',
        }
    }
}

/// A set of access rights, with the bits the kernel's BPF device context uses
/// (`BPF_DEVCG_ACC_MKNOD` = 1, `_READ` = 2, `_WRITE` = 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct Access(u8);

impl Access {
    pub(crate) const MKNOD: Access = Access(1);
    pub(crate) const READ: Access = Access(2);
    pub(crate) const WRITE: Access = Access(4);
    pub(crate) const ALL: Access = Access(7);

    /// The rights of an OCI `access` string; `None` for a letter other than r, w and m. An
    /// empty string means all of them, as the kernel and runc read it.
    pub(crate) fn parse(text: &str) -> Option<Access> {
        if text.is_empty() {
            return Some(Access::ALL);
        }
        text.chars().try_fold(Access::default(), |acc, c| match c {
            'r' => Some(acc.union(Access::READ)),
            'w' => Some(acc.union(Access::WRITE)),
            'm' => Some(acc.union(Access::MKNOD)),
            _ => None,
        })
    }

    #[cfg(test)]
    pub(crate) fn from_bits(bits: u8) -> Access {
        Access(bits & Access::ALL.0)
    }

    pub(crate) fn bits(self) -> u8 {
        self.0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Every right of `other` is in `self`.
    pub(crate) fn contains(self, other: Access) -> bool {
        other.0 & !self.0 == 0
    }

    pub(crate) fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }

    pub(crate) fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub(crate) fn minus(self, other: Access) -> Access {
        Access(self.0 & !other.0)
    }

    pub(crate) fn intersection(self, other: Access) -> Access {
        Access(self.0 & other.0)
    }
}

impl fmt::Display for Access {
    /// `rwm` order, as the kernel lists rights in `devices.list`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (right, letter) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.contains(right) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// The devices a rule or an exception names: a kind and a major and a minor number, each of
/// which may be a wildcard (`None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pattern {
    pub(crate) kind: DeviceKind,
    pub(crate) major: Option<u32>,
    pub(crate) minor: Option<u32>,
}

impl Pattern {
    /// Whether some device matches both patterns (of a kind other than `a`).
    fn overlaps(&self, other: &Pattern) -> bool {
        let meet = |a: Option<u32>, b: Option<u32>| a.is_none() || b.is_none() || a == b;
        self.kind == other.kind && meet(self.major, other.major) && meet(self.minor, other.minor)
    }

    /// Whether the device `kind major:minor` matches.
    #[cfg(test)]
    pub(crate) fn covers(&self, device: &Device) -> bool {
        (self.kind == DeviceKind::All || self.kind == device.kind)
            && self.major.is_none_or(|m| m == device.major)
            && self.minor.is_none_or(|m| m == device.minor)
    }
}

impl fmt::Display for Pattern {
    /// As the kernel writes it: `c 1:3`, `b *:*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        write!(
            f,
            "{} {}:{}",
            self.kind.letter(),
            number(self.major),
            number(self.minor)
        )
    }
}

/// One device the kernel asks about: a block or character device and its numbers (the tests'
/// model of what the kernel passes the program).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Device {
    pub(crate) kind: DeviceKind,
    pub(crate) major: u32,
    pub(crate) minor: u32,
}

/// One checked rule of `linux.resources.devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub(crate) allow: bool,
    pub(crate) pattern: Pattern,
    pub(crate) access: Access,
}

impl DeviceRule {
    /// Check one OCI rule. A missing type is `a`; a missing or negative number is a wildcard
    /// (runc writes -1 for "any"); a missing or empty access is `rwm`.
    pub(crate) fn from_oci(rule: &LinuxDeviceCgroup) -> Result<DeviceRule> {
        let kind = match rule.typ().unwrap_or_default() {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::C => DeviceKind::Char,
            other => {
                return Err(CgroupError::Invalid(format!(
                "linux.resources.devices: type {:?} is not a device cgroup type (use a, b or c)",
                other.as_str()
            )))
            }
        };
        let number = |which: &str, n: Option<i64>| match n {
            Some(n) if n >= 0 => u32::try_from(n).map(Some).map_err(|_| {
                CgroupError::Invalid(format!(
                    "linux.resources.devices: {which} {n} is out of range (at most {})",
                    u32::MAX
                ))
            }),
            _ => Ok(None),
        };
        let text = rule.access().as_deref().unwrap_or("");
        let access = Access::parse(text).ok_or_else(|| {
            CgroupError::Invalid(format!(
                "linux.resources.devices: access {text:?} may only contain r, w and m"
            ))
        })?;
        Ok(DeviceRule {
            allow: rule.allow(),
            pattern: Pattern {
                kind,
                major: number("major", rule.major())?,
                minor: number("minor", rule.minor())?,
            },
            access,
        })
    }
}

impl fmt::Display for DeviceRule {
    /// `allow c 1:3 rwm`: the rule as the v1 files take it, with its verb.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.allow { "allow" } else { "deny" };
        write!(f, "{verb} {} {}", self.pattern, self.access)
    }
}

/// Check every rule of the list, in order.
pub(crate) fn parse_rules(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    rules.iter().map(DeviceRule::from_oci).collect()
}

/// What a list of rules leaves in force: a default and its exceptions, each an exact pattern
/// with the rights that go against the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DevicePolicy {
    default_allow: bool,
    exceptions: BTreeMap<Pattern, Access>,
}

impl DevicePolicy {
    /// Fold `rules` in order, starting from "deny everything" (the default of a cgroup whose
    /// rules start with `deny a`, which is how every OCI config starts its list). A rule that
    /// would only narrow a different exception the kernel keeps is refused (see the module
    /// documentation).
    pub(crate) fn fold(rules: &[DeviceRule]) -> Result<DevicePolicy> {
        let mut policy = DevicePolicy {
            default_allow: false,
            exceptions: BTreeMap::new(),
        };
        for (index, rule) in rules.iter().enumerate() {
            policy.apply(index, rule)?;
        }
        Ok(policy)
    }

    fn apply(&mut self, index: usize, rule: &DeviceRule) -> Result<()> {
        if rule.pattern.kind == DeviceKind::All {
            // The kernel ignores the numbers and rights of an `a` rule: it resets.
            self.default_allow = rule.allow;
            self.exceptions.clear();
            return Ok(());
        }
        if rule.allow != self.default_allow {
            let rights = self.exceptions.entry(rule.pattern).or_default();
            *rights = rights.union(rule.access);
            return Ok(());
        }
        let kept = self.exceptions.iter().find(|(pattern, rights)| {
            **pattern != rule.pattern
                && pattern.overlaps(&rule.pattern)
                && rights.intersects(rule.access)
        });
        if let Some((pattern, rights)) = kept {
            let verb = if self.default_allow {
                "denied"
            } else {
                "allowed"
            };
            return Err(CgroupError::Invalid(format!(
                "linux.resources.devices[{index}]: \"{rule}\" cannot take {} away from \
                 \"{pattern} {rights}\", {verb} by an earlier rule: the devices cgroup keeps \
                 one exception per exact pattern and would silently ignore it; change the \
                 earlier rule instead",
                rights.intersection(rule.access)
            )));
        }
        if let Some(rights) = self.exceptions.get_mut(&rule.pattern) {
            *rights = rights.minus(rule.access);
            if rights.is_empty() {
                self.exceptions.remove(&rule.pattern);
            }
        }
        Ok(())
    }

    /// `true` when every device not named by an exception is allowed.
    pub(crate) fn default_allow(&self) -> bool {
        self.default_allow
    }

    /// The exceptions to the default, in a fixed order.
    pub(crate) fn exceptions(&self) -> impl Iterator<Item = (&Pattern, Access)> {
        self.exceptions.iter().map(|(p, a)| (p, *a))
    }

    /// The verdict, as the v1 kernel gives it: with a deny default, one exception must grant
    /// every right asked for; with an allow default, any exception that names one of them
    /// refuses. (The program computes the same; this is the model its tests compare it with.)
    #[cfg(test)]
    pub(crate) fn allows(&self, device: &Device, access: Access) -> bool {
        let mut named = self
            .exceptions
            .iter()
            .filter(|(pattern, _)| pattern.covers(device));
        if self.default_allow {
            !named.any(|(_, rights)| rights.intersects(access))
        } else {
            named.any(|(_, rights)| rights.contains(access))
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
