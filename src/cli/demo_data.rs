//! `aiapi demo-data`: fills the catalogue with generated items, for trying
//! the service out and for benchmarks.

use std::time::Instant;

use clap::Args;

use super::{CliError, open_store, quiet_settings};
use crate::domain::{Money, NewItem, time};
use crate::store::Store;

/// Options of `aiapi demo-data`.
#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// How many items to add.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    items: u64,
    /// The account that owns them.
    #[arg(long, default_value = "admin")]
    owner: String,
    /// Items per transaction.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    batch: u64,
    /// Seed of the generator: the same seed gives the same items.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

const ADJECTIVES: [&str; 16] = [
    "Wireless",
    "Compact",
    "Vintage",
    "Ergonomic",
    "Smart",
    "Classic",
    "Portable",
    "Deluxe",
    "Rugged",
    "Silent",
    "Bright",
    "Modular",
    "Premium",
    "Handmade",
    "Foldable",
    "Solar",
];
const NOUNS: [&str; 16] = [
    "Notebook",
    "Keyboard",
    "Lamp",
    "Backpack",
    "Speaker",
    "Kettle",
    "Chair",
    "Headphones",
    "Camera",
    "Blender",
    "Monitor",
    "Jacket",
    "Tent",
    "Watch",
    "Drill",
    "Guitar",
];
const CATEGORIES: [&str; 10] = [
    "electronics",
    "office",
    "home",
    "outdoor",
    "kitchen",
    "audio",
    "furniture",
    "clothing",
    "tools",
    "music",
];
const USES: [&str; 8] = [
    "everyday use",
    "the office",
    "travel",
    "students",
    "professionals",
    "the garden",
    "long trips",
    "small spaces",
];

/// Adds the items in batches, printing progress after each.
pub async fn run(args: DemoDataArgs) -> Result<(), CliError> {
    let common = quiet_settings()?;
    let store = open_store(&common).await?;
    let result = match store.migrate().await {
        Ok(_) => fill(store.as_ref(), &args).await,
        Err(e) => Err(e.into()),
    };
    store.close().await;
    result
}

async fn fill(store: &dyn Store, args: &DemoDataArgs) -> Result<(), CliError> {
    let owner = store
        .user_by_username(&args.owner)
        .await?
        .ok_or_else(|| CliError::Other(format!("no user named {:?}", args.owner)))?;
    let mut rng = SplitMix64(args.seed);
    let started = Instant::now();
    let mut done = 0u64;
    while done < args.items {
        let size = args.batch.min(args.items - done);
        let batch: Vec<NewItem> = (0..size)
            .map(|i| generate(&mut rng, done + i + 1, owner.id))
            .collect();
        done += store.import_items(&batch, time::now()).await?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "demo-data: {done}/{} items ({:.0}%), {:.0} items/s",
            args.items,
            done as f64 * 100.0 / args.items as f64,
            done as f64 / secs.max(1e-9)
        );
    }
    println!(
        "added {done} items owned by {} in {:.1} s",
        owner.username,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One plausible item; `n` makes names distinct.
fn generate(rng: &mut SplitMix64, n: u64, owner_id: uuid::Uuid) -> NewItem {
    let adjective = ADJECTIVES[rng.below(ADJECTIVES.len())];
    let noun = NOUNS[rng.below(NOUNS.len())];
    let price_cents = 99 + rng.below(250_000) as i64;
    NewItem {
        name: format!("{adjective} {noun} {n}"),
        description: (rng.below(10) != 0).then(|| {
            format!(
                "A {} {} for {}",
                adjective.to_lowercase(),
                noun.to_lowercase(),
                USES[rng.below(USES.len())]
            )
        }),
        price: Money::from_cents(price_cents),
        tax: (rng.below(4) != 0).then(|| Money::from_cents(price_cents * 8 / 100)),
        category: Some(CATEGORIES[rng.below(CATEGORIES.len())].to_owned()),
        owner_id,
    }
}

/// A small deterministic generator (SplitMix64): demo data must be
/// reproducible from its seed, not cryptographically random.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
