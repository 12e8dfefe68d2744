//! The terminal's rendering of task Markdown, as insta snapshots: a sample with every
//! construct (plain and coloured), and every task of the five labs as a learner sees it.

use hull_lab::markdown::render;
use hull_lab::ui::Style;

const SAMPLE: &str = "\
# A heading
Run a container, **predict** its argv (*before* you look), then `hull ps`.

| file      | container                                              |
|-----------|--------------------------------------------------------|
| `t1.argv` | `hull run -d --name t1 tool`                           |
| `t3.argv` | `hull run -d --name t3 --entrypoint sh tool -c 'sleep 700'` |

    hull run -d --name try srv; hull top try

- one
- **two** and `three`

```
fenced code
```
snake_case_names and 2*3*4 stay as they are.
";

#[test]
fn sample_plain() {
    insta::assert_snapshot!(render(Style::plain(), SAMPLE, 2));
}

#[test]
fn sample_coloured() {
    let out = render(Style { color: true }, SAMPLE, 2).replace('\x1b', "<ESC>");
    insta::assert_snapshot!(out);
}

#[test]
fn every_task_of_the_labs() {
    let mut all = String::new();
    for s in hull_lab::load::embedded().unwrap() {
        for (i, step) in s.steps.iter().enumerate() {
            all.push_str(&format!("=== {} step {}\n", s.id, i + 1));
            let text = render(Style::plain(), &step.task, 2);
            assert!(!text.contains("**"), "{} step {}: {text}", s.id, i + 1);
            all.push_str(&text);
        }
    }
    insta::assert_snapshot!(all);
}
