//! The core of partner-invites: everything the components share.
//!
//! Components are thin: each hands its route table and dispatcher to
//! `spin::serve`, which routes, parses the request into typed input,
//! resolves the caller once, calls one operation of a service of
//! [`ops::App`] and renders the result. Everything else lives here and is
//! tested natively: signed tokens ([`token`]), the capability matrix
//! ([`capabilities`]), the domain records, typed ids and state machines
//! ([`domain`]), input validation ([`validation`]), the key-value seam, its
//! write discipline and key layout ([`store`]), outbound HTTP ([`outbound`]),
//! Standard Webhooks signatures ([`webhook`]), RFC 9457 problems
//! ([`problem`]), the emails and the message catalogs of every language
//! ([`messages`], used by the operations and the pages alike) and the
//! routes, endpoints and pages ([`web`]).

pub mod auth;
pub mod capabilities;
pub mod clock;
pub mod domain;
pub mod messages;
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
