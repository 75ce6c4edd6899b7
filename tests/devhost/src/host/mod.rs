//! The state of a component instance and the Spin interfaces
//! implemented on it: key-value, variables, and outbound HTTP limited to the
//! component's allow-list.

pub(crate) mod key_value;
mod outbound;
mod variables;
pub(crate) mod wasi_keyvalue;

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::kv::Backend;
use crate::outbound::AllowedHost;
pub use outbound::Hooks;

/// Host bindings generated from the vendored WIT in `wit/`.
mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "wit",
        world: "devhost:host/spin-imports",
        imports: {
            "spin:key-value/key-value.[method]store.get-keys": async | store | trappable,
        },
        with: {
            "spin:key-value/key-value.store": crate::host::key_value::StoreHandle,
            "wasi:keyvalue/store.bucket": crate::host::key_value::StoreHandle,
            "wasi:keyvalue/atomics.cas": crate::host::wasi_keyvalue::CasHandle,
        },
    });
}

use bindings::SpinImports;
pub(crate) use bindings::{spin, wasi};

/// What one component may do, shared by all its instances.
#[derive(Clone)]
pub struct Grants {
    /// The component id.
    pub component: String,
    /// Store labels it may open.
    pub key_value_stores: Arc<Vec<String>>,
    /// Its variables, expanded.
    pub variables: Arc<BTreeMap<String, String>>,
    /// Where it may send requests.
    pub outbound: Arc<Vec<AllowedHost>>,
}

/// The store data of one instance.
pub struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: Hooks,
    table: ResourceTable,
    kv: Arc<dyn Backend>,
    grants: Grants,
}

impl Host {
    /// Fresh state for one instance, kept for every request it serves.
    pub fn new(kv: Arc<dyn Backend>, grants: Grants) -> Host {
        let wasi = WasiCtx::builder().inherit_stdout().inherit_stderr().build();
        Host {
            wasi,
            http: WasiHttpCtx::new(),
            hooks: Hooks::new(grants.outbound.clone()),
            table: ResourceTable::new(),
            kv,
            grants,
        }
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds every interface a component may import to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<Host>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi::p3::add_to_linker(linker)?;
    wasmtime_wasi_http::p3::add_to_linker(linker)?;
    SpinImports::add_to_linker::<_, wasmtime::component::HasSelf<Host>>(linker, |h| h)?;
    Ok(())
}
