//! `state`: the OCI state JSON of one container.

use std::path::Path;

use super::Container;
use crate::error::Result;

pub fn state(root: &Path, id: &str) -> Result<serde_json::Value> {
    let c = Container::load(root, id)?;
    Ok(c.oci_state(c.status))
}
