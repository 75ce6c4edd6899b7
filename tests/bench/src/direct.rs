//! The operations' store seam over devhost's SQLite backend, so seeding a
//! hundred thousand records goes through the same code as the components,
//! minus HTTP.

use std::sync::Arc;

use devhost::kv::Backend;
use partner_invites::store::{KeyValue, StoreError};

/// Store `default` of a devhost backend.
pub struct Direct(pub Arc<dyn Backend>);

const LABEL: &str = "default";

impl KeyValue for Direct {
    type Cas = (String, Option<Vec<u8>>);

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(LABEL, key).map_err(StoreError::Backend)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.0.get_many(LABEL, keys).map_err(StoreError::Backend)
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.0.set(LABEL, key, value).map_err(StoreError::Backend)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(LABEL, key).map_err(StoreError::Backend)
    }

    async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.0
            .increment(LABEL, key, delta)
            .map_err(StoreError::Backend)
    }

    async fn cas_begin(&self, key: &str) -> Result<(Self::Cas, Option<Vec<u8>>), StoreError> {
        let current = self.get(key).await?;
        Ok(((key.to_string(), current.clone()), current))
    }

    async fn cas_swap(&self, (key, seen): Self::Cas, value: &[u8]) -> Result<bool, StoreError> {
        self.0
            .swap_if(LABEL, &key, seen.as_deref(), value)
            .map_err(StoreError::Backend)
    }
}
