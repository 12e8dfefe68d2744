//! The command a container runs, from the image's ENTRYPOINT and CMD, `--entrypoint` and the
//! arguments after the image name — Docker's rules, as one pure function.
//!
//! Shell forms are already stored as `["/bin/sh", "-c", "…"]` in the image config, so this only
//! concatenates: argv = entrypoint ++ cmd, where arguments replace the image's CMD, and
//! `--entrypoint` replaces the ENTRYPOINT *and* drops the image's CMD (`--entrypoint ""` clears
//! it entirely).

/// Neither the image nor the command line gives a program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no command specified: the image has no ENTRYPOINT or CMD and none was given")]
pub struct NoCommand;

/// Ok(argv), or Err with Docker's message when nothing is left to run.
pub fn resolve(
    image_entrypoint: &[String],
    image_cmd: &[String],
    entrypoint_flag: Option<&str>,
    args: &[String],
) -> Result<Vec<String>, NoCommand> {
    let (entrypoint, cmd): (Vec<String>, Vec<String>) = match entrypoint_flag {
        Some("") => (Vec::new(), args.to_vec()),
        Some(e) => (vec![e.to_string()], args.to_vec()),
        None if args.is_empty() => (image_entrypoint.to_vec(), image_cmd.to_vec()),
        None => (image_entrypoint.to_vec(), args.to_vec()),
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if argv.is_empty() {
        return Err(NoCommand);
    }
    Ok(argv)
}

/// The Dockerfile's shell form: `CMD echo hi` is stored as `["/bin/sh", "-c", "echo hi"]`.
pub fn shell_form(command: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), command.into()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    /// Every cell of the table in the Dockerfile reference ("Understand how CMD and ENTRYPOINT
    /// interact"): rows are CMD forms, columns ENTRYPOINT forms.
    #[test]
    fn the_dockerfile_reference_table() {
        let no_cmd: Vec<String> = vec![];
        let cmd_exec = v(&["exec_cmd", "p1_cmd"]);
        let cmd_shell = shell_form("exec_cmd p1_cmd");
        let no_ep: Vec<String> = vec![];
        let ep_shell = shell_form("exec_entry p1_entry");
        let ep_exec = v(&["exec_entry", "p1_entry"]);

        assert!(resolve(&no_ep, &no_cmd, None, &[]).is_err());
        assert_eq!(
            resolve(&ep_shell, &no_cmd, None, &[]).unwrap(),
            v(&["/bin/sh", "-c", "exec_entry p1_entry"])
        );
        assert_eq!(
            resolve(&ep_exec, &no_cmd, None, &[]).unwrap(),
            v(&["exec_entry", "p1_entry"])
        );

        assert_eq!(
            resolve(&no_ep, &cmd_exec, None, &[]).unwrap(),
            v(&["exec_cmd", "p1_cmd"])
        );
        // The shell ignores what follows its command string (it becomes $0, $1): the table
        // writes this cell as "/bin/sh -c exec_entry p1_entry".
        assert_eq!(
            resolve(&ep_shell, &cmd_exec, None, &[]).unwrap(),
            v(&["/bin/sh", "-c", "exec_entry p1_entry", "exec_cmd", "p1_cmd"])
        );
        assert_eq!(
            resolve(&ep_exec, &cmd_exec, None, &[]).unwrap(),
            v(&["exec_entry", "p1_entry", "exec_cmd", "p1_cmd"])
        );

        assert_eq!(
            resolve(&no_ep, &cmd_shell, None, &[]).unwrap(),
            v(&["/bin/sh", "-c", "exec_cmd p1_cmd"])
        );
        assert_eq!(
            resolve(&ep_shell, &cmd_shell, None, &[]).unwrap(),
            v(&[
                "/bin/sh",
                "-c",
                "exec_entry p1_entry",
                "/bin/sh",
                "-c",
                "exec_cmd p1_cmd"
            ])
        );
        assert_eq!(
            resolve(&ep_exec, &cmd_shell, None, &[]).unwrap(),
            v(&["exec_entry", "p1_entry", "/bin/sh", "-c", "exec_cmd p1_cmd"])
        );
    }

    #[test]
    fn arguments_replace_cmd_and_entrypoint_flag_drops_it() {
        let ep = v(&["/bin/echo", "hello"]);
        let cmd = v(&["world"]);
        assert_eq!(
            resolve(&ep, &cmd, None, &v(&["there"])).unwrap(),
            v(&["/bin/echo", "hello", "there"])
        );
        assert_eq!(
            resolve(&ep, &cmd, Some("/bin/ls"), &[]).unwrap(),
            v(&["/bin/ls"])
        );
        assert_eq!(
            resolve(&ep, &cmd, Some("/bin/ls"), &v(&["-l"])).unwrap(),
            v(&["/bin/ls", "-l"])
        );
        assert!(resolve(&ep, &cmd, Some(""), &[]).is_err());
        assert_eq!(
            resolve(&ep, &cmd, Some(""), &v(&["id"])).unwrap(),
            v(&["id"])
        );
    }

    proptest! {
        #[test]
        fn args_always_end_the_command(
            ep in proptest::collection::vec("[a-z]{1,5}", 0..3),
            cmd in proptest::collection::vec("[a-z]{1,5}", 0..3),
            args in proptest::collection::vec("[a-z]{1,5}", 1..3),
        ) {
            let argv = resolve(&ep, &cmd, None, &args).unwrap();
            prop_assert!(argv.ends_with(&args));
            prop_assert!(argv.starts_with(&ep));
            prop_assert_eq!(argv.len(), ep.len() + args.len());
        }

        #[test]
        fn the_entrypoint_flag_never_keeps_the_image_cmd(
            ep in proptest::collection::vec("[a-z]{1,5}", 0..3),
            cmd in proptest::collection::vec("[A-Z]{1,5}", 1..3),
            flag in "[a-z/]{0,6}",
        ) {
            if let Ok(argv) = resolve(&ep, &cmd, Some(&flag), &[]) {
                for c in &cmd {
                    prop_assert!(!argv.contains(c));
                }
            }
        }
    }
}
