//! Conformance suite host crate (see tests/).
