//! `spin:variables@3.0.0`: the component's own variables, templates expanded.

use wasmtime::component::{Accessor, HasSelf};

use super::Host;
use super::spin::variables::variables::{Error, HostWithStore};

impl super::spin::variables::variables::Host for Host {}

impl<U> HostWithStore<U> for HasSelf<Host> {
    async fn get(accessor: &Accessor<U, Self>, name: String) -> Result<String, Error> {
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(Error::InvalidName(name));
        }
        accessor.with(|mut access| {
            let host: &mut Host = access.get();
            host.grants
                .variables
                .get(&name)
                .cloned()
                .ok_or(Error::Undefined(name))
        })
    }
}
