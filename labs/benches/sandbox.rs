//! Creating and destroying a disposable sandbox (namespaces, cgroups, eth0, temp dir), and the
//! same with one container run in it. Needs root and a built `hull`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use hull_lab::sandbox::{find_hull, Sandbox};

fn sandbox(c: &mut Criterion) {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the sandbox bench needs root: skipped");
        return;
    }
    let hull = match find_hull() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}: skipped");
            return;
        }
    };
    let mut g = c.benchmark_group("sandbox");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function("create+destroy", |b| {
        b.iter(|| Sandbox::create(&hull).unwrap().destroy().unwrap())
    });
    g.bench_function("create+sh+destroy", |b| {
        b.iter(|| {
            let sb = Sandbox::create(&hull).unwrap();
            assert!(sb.sh("true", Duration::from_secs(10)).unwrap().ok());
            sb.destroy().unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, sandbox);
criterion_main!(benches);
