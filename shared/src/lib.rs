//! The core of partner-invites: everything the components share.
//!
//! Components are thin: they parse a request, authorise it, call an
//! operation from [`ops`] and render the result. Everything else lives here
//! and is tested natively: signed tokens ([`token`]), the capability matrix
//! ([`capabilities`]), the domain records and their state machines
//! ([`domain`]), input validation ([`validation`]), the key-value seam and
//! its key layout ([`store`]), and RFC 9457 problems ([`problem`]).

pub mod token;
