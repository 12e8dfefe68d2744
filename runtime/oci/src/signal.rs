//! Signal names and numbers as `kill` takes them: `TERM`, `SIGTERM`, `sigterm`, `15`.

use nix::sys::signal::Signal;

use crate::error::{Error, Result};

pub fn parse(text: &str) -> Result<Signal> {
    let bad = || Error::Signal(text.to_string());
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad());
    }
    if trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let n: i32 = trimmed.parse().map_err(|_| bad())?;
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = trimmed.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_numbers_and_cases() {
        assert_eq!(parse("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("SIGKILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("sigint").unwrap(), Signal::SIGINT);
        assert_eq!(parse("usr1").unwrap(), Signal::SIGUSR1);
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse(" 15 ").unwrap(), Signal::SIGTERM);
    }

    #[test]
    fn rejects_garbage_and_names_it() {
        for bad in ["", "NOPE", "0", "65", "-9", "SIG", "9x", "99999999999"] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    proptest! {
        #[test]
        fn every_signal_round_trips_by_name_and_number(i in 0usize..Signal::iterator().count()) {
            let sig = Signal::iterator().nth(i).unwrap();
            prop_assert_eq!(parse(sig.as_str()).unwrap(), sig);
            prop_assert_eq!(parse(&sig.as_str()[3..].to_lowercase()).unwrap(), sig);
            prop_assert_eq!(parse(&(sig as i32).to_string()).unwrap(), sig);
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = parse(&s);
        }
    }
}
