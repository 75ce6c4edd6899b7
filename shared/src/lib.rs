//! The core of partner-invites: everything the components share.
//!
//! Components are thin: they parse a request, authorise it, call an
//! operation on [`ops::App`] and render the result. Everything else lives
//! here and is tested natively: signed tokens ([`token`]), the capability
//! matrix ([`capabilities`]), the domain records and their state machines
//! ([`domain`]), input validation ([`validation`]), the key-value seam and its
//! key layout ([`store`]), outbound HTTP ([`outbound`]), Standard Webhooks
//! signatures ([`webhook`]), RFC 9457 problems ([`problem`]) and the HTTP
//! endpoints and pages ([`web`]).

pub mod auth;
pub mod capabilities;
pub mod clock;
pub mod domain;
pub mod ops;
pub mod outbound;
pub mod problem;
pub mod random;
#[cfg(feature = "spin")]
pub mod spin;
pub mod store;
pub mod token;
pub mod validation;
pub mod view;
pub mod web;
pub mod webhook;
