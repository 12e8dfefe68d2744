//! `state`: the OCI state JSON of one container.

use std::path::Path;

use super::Container;
use crate::error::Result;

/// With `hull_facts`, hullrt's own facts (OOM kills, exit code) are added as `org.hull.*`
/// fields beside the spec's.
pub fn state(root: &Path, id: &str, hull_facts: bool) -> Result<serde_json::Value> {
    let c = Container::load(root, id)?;
    let mut state = c.oci_state(c.status);
    if hull_facts {
        if let (Some(s), serde_json::Value::Object(facts)) = (state.as_object_mut(), c.hull_facts())
        {
            s.extend(facts);
        }
    }
    Ok(state)
}
