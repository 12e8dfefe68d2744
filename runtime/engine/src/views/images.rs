//! Image views: `images` and `history`, as Docker shows them.

use std::time::SystemTime;

use hull_image::{HistoryEntry, ImageSummary};
use serde_json::json;

use super::{ago, bytes, short_id, Listing, ListingKind};

/// `images --format`: the fields of Docker's `imageContext` that hull has.
pub const IMAGES: ListingKind = ListingKind {
    context: "*formatter.imageContext",
    fields: &[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
    ],
    checked_first: false,
};

/// `history` (Docker's `historyContext`).
pub const HISTORY: ListingKind = ListingKind {
    context: "*image.historyContext",
    fields: &[
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ],
    checked_first: false,
};

/// `hull images`: Docker hides the intermediate images a build leaves behind (untagged, with
/// children) unless asked with `-a`; a dangling one (untagged, no children) is shown.
pub fn images(list: &[ImageSummary], all: bool, now: SystemTime) -> Listing {
    let shown: Vec<&ImageSummary> = list.iter().filter(|i| all || !i.intermediate).collect();
    Listing {
        headers: &["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"],
        rows: shown
            .iter()
            .map(|i| {
                vec![
                    i.repository.clone(),
                    i.tag.clone(),
                    short_id(&i.id).to_string(),
                    ago(i.created.as_deref(), now),
                    bytes(i.size),
                ]
            })
            .collect(),
        values: shown
            .iter()
            .map(|i| {
                json!({"Repository": i.repository, "Tag": i.tag, "ID": short_id(&i.id),
                       "Digest": "<none>", "CreatedSince": ago(i.created.as_deref(), now),
                       "CreatedAt": i.created, "Size": i.size})
            })
            .collect(),
        ids: shown.iter().map(|i| short_id(&i.id).to_string()).collect(),
        kind: &IMAGES,
    }
}

/// `hull history`: newest step first as the store gives it; CREATED BY cut to 45 characters
/// unless `no_trunc`.
pub fn history(steps: &[HistoryEntry], no_trunc: bool, now: SystemTime) -> Listing {
    let by = |h: &HistoryEntry| {
        if no_trunc || h.created_by.chars().count() <= 45 {
            h.created_by.clone()
        } else {
            format!("{}…", h.created_by.chars().take(44).collect::<String>())
        }
    };
    Listing {
        headers: &["CREATED", "CREATED BY", "SIZE", "COMMENT"],
        rows: steps
            .iter()
            .map(|h| {
                vec![
                    ago(h.created.as_deref(), now),
                    by(h),
                    bytes(h.size),
                    h.comment.clone(),
                ]
            })
            .collect(),
        values: steps
            .iter()
            .map(|h| {
                json!({"CreatedSince": ago(h.created.as_deref(), now),
                       "CreatedAt": h.created, "CreatedBy": h.created_by, "Size": h.size,
                       "Comment": h.comment})
            })
            .collect(),
        ids: Vec::new(),
        kind: &HISTORY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(repository: &str, id: &str) -> ImageSummary {
        ImageSummary {
            repository: repository.into(),
            tag: if repository == "<none>" {
                "<none>"
            } else {
                "latest"
            }
            .into(),
            id: id.into(),
            created: None,
            size: 2048,
            intermediate: repository == "<none>" && id.contains('b'),
        }
    }

    #[test]
    fn intermediate_images_only_with_all() {
        let list = [
            summary("busybox", "sha256:aaaaaaaaaaaaaaaa"),
            summary("<none>", "sha256:bbbbbbbbbbbbbbbb"),
            summary("<none>", "sha256:cccccccccccccccc"),
        ];
        let now = SystemTime::now();
        // A dangling image (untagged, no children) is listed; an intermediate one is not.
        assert_eq!(
            images(&list, false, now).ids,
            ["aaaaaaaaaaaa", "cccccccccccc"]
        );
        let l = images(&list, true, now);
        assert_eq!(l.ids, ["aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"]);
        assert_eq!(l.rows[0][3], "N/A");
        assert_eq!(l.rows[0][4], "2.0KiB");
        assert_eq!(l.values[1]["Repository"], "<none>");
    }

    #[test]
    fn history_cuts_long_commands_unless_asked() {
        let step = HistoryEntry {
            created_by: "x".repeat(50),
            created: None,
            size: 0,
            empty_layer: true,
            comment: String::new(),
        };
        let now = SystemTime::now();
        let cut = &history(std::slice::from_ref(&step), false, now).rows[0][1];
        assert_eq!(cut.chars().count(), 45);
        assert!(cut.ends_with('…'));
        assert_eq!(history(&[step], true, now).rows[0][1], "x".repeat(50));
    }
}
