//! tokenvault-core: the pure logic of tokenvault.
//!
//! Everything here is data in, data out: secrets that never print themselves, references
//! (`tv://ITEM/FIELD`), name rules, masking, and the provider catalogue. No file, network,
//! process, environment or clock access happens in this crate (clippy's `disallowed-methods`
//! enforces it), so every rule can be tested as a plain function and reused by every front end.
#![forbid(unsafe_code)]

pub mod agent;
pub mod audit;
pub mod conceal;
pub mod credfiles;
pub mod dockercred;
pub mod dotenv;
pub mod endpoint;
pub mod envplan;
#[doc(hidden)]
pub mod fuzzing;
pub mod gitcred;
pub mod lookalike;
pub mod mask;
pub mod mcp;
pub mod name;
pub mod notebook;
pub mod oauth;
pub mod passphrase;
pub mod places;
pub mod provider;
pub mod proxy;
pub mod reference;
pub mod secret;
pub mod sse;
pub mod status;
pub mod template;
pub mod words;

pub use mask::mask;
pub use name::{FieldName, ItemName, NameError};
pub use provider::{AccountFields, Catalogue, CatalogueError, FormatCheck, LiveCheck, Provider};
pub use reference::{Reference, ReferenceError};
pub use secret::Secret;
