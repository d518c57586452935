//! Media benchmarks through two real Kubo daemons joined on loopback, each beside raw Kubo on
//! the same bytes' size in the same run:
//! - send: seal (ChaCha20-Poly1305, 64 KiB chunks) while streaming to `add`, against a raw
//!   `add` of plaintext of the same size;
//! - receive: `cat` through the other daemon, length and digest check, opening into the cache,
//!   against a raw `cat` of the same size through the other daemon.
//!
//! Fresh random bytes for every run (Kubo would otherwise find the blocks it already has).
//! Run: `cargo bench -p arx-e2e --bench media` (ARX_BENCH_RUNS sets the runs per size).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use arx_e2e::kubo::Kubo;
use arx_media::{store::cat_bounded, transfer::STALL_TIMEOUT, MediaCache};
use rand::RngCore;

fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

fn mb_per_s(len: usize, took: Duration) -> f64 {
    len as f64 / 1e6 / took.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("ARX_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (sender, receiver) = Kubo::pair().await;
    let (up, down) = (sender.store(), receiver.store());
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = MediaCache::open(cache_dir.path(), u64::MAX).unwrap();
    println!("| size | raw add MB/s | send MB/s | send/raw | raw cat MB/s | receive MB/s | receive/raw |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, len) in [("1 MB", 1_000_000usize), ("100 MB", 100_000_000)] {
        let (mut raw_add, mut send, mut raw_cat, mut receive) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            // Raw Kubo: add plaintext on one daemon, cat it through the other.
            let plain = random(len);
            let started = Instant::now();
            let cid = up.add(Box::new(std::io::Cursor::new(plain))).await.unwrap();
            raw_add.push(mb_per_s(len, started.elapsed()));
            let started = Instant::now();
            let got = cat_bounded(down.as_ref(), &cid, len).await.unwrap();
            raw_cat.push(mb_per_s(len, started.elapsed()));
            assert_eq!(got.len(), len);

            // ARX: seal while uploading; fetch, check and open through the other daemon.
            let plain = random(len);
            let started = Instant::now();
            let sealed = arx_media::upload(
                up.as_ref(),
                "bench.bin",
                std::io::Cursor::new(plain),
                len as u64,
                None,
            )
            .await
            .unwrap();
            send.push(mb_per_s(len, started.elapsed()));
            let started = Instant::now();
            let path = arx_media::download(down.as_ref(), &cache, &sealed, None, STALL_TIMEOUT)
                .await
                .unwrap();
            receive.push(mb_per_s(len, started.elapsed()));
            assert_eq!(std::fs::metadata(&path).unwrap().len(), len as u64);
            cache.remove(&sealed.digest).unwrap();
        }
        let (raw_add, send, raw_cat, receive) = (
            median(raw_add),
            median(send),
            median(raw_cat),
            median(receive),
        );
        println!(
            "| {label} | {raw_add:.1} | {send:.1} | {:.2} | {raw_cat:.1} | {receive:.1} | {:.2} |",
            send / raw_add,
            receive / raw_cat
        );
    }
}
