//! `pause` and `resume`: freeze and thaw every process of the container through its cgroup
//! (v1 freezer, v2 `cgroup.freeze`).

use std::path::Path;

use super::Container;
use crate::error::Result;
use crate::state::Op;

pub fn pause(root: &Path, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(Op::Pause)?;
    crate::cgroups::manager(c.record.cgroup.clone()).freeze(true)?;
    Ok(())
}

pub fn resume(root: &Path, id: &str) -> Result<()> {
    let c = Container::load(root, id)?;
    c.require(Op::Resume)?;
    crate::cgroups::manager(c.record.cgroup.clone()).freeze(false)?;
    Ok(())
}
