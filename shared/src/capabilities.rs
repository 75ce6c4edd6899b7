//! The capability matrix: what each connection type grants.
//!
//! This is the one place the matrix is written down. Every component, the
//! public `GET /api/capabilities` document and the registration page read it
//! from here, so the product can never show one thing and enforce another.

use serde::{Deserialize, Serialize};

/// How a partner is connected to a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionType {
    /// Managed service provider: manages the customer's portal on its behalf.
    Msp,
    /// Reseller that is the customer's first contact for support.
    ResellerWithSupport,
    /// Reseller that only bills; the vendor stays the first contact.
    ResellerWithoutSupport,
}

/// One thing a connection may grant the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Manage the portal on behalf of the customer.
    ManagePortal,
    /// Manage many customers from one view.
    MultiTenancy,
    /// White-label pop-up notification.
    WhiteLabelPopup,
    /// Installation overview across managed customers.
    InstallationOverview,
    /// The partner is the customer's first contact (support).
    FirstContact,
    /// The customer is billed through the partner.
    BillingViaPartner,
}

/// Who the customer turns to first for support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstContact {
    /// The connected partner.
    Partner,
    /// The vendor itself.
    Vendor,
}

impl ConnectionType {
    /// Every connection type, in the order the matrix shows them.
    pub const ALL: [ConnectionType; 3] = [
        ConnectionType::Msp,
        ConnectionType::ResellerWithSupport,
        ConnectionType::ResellerWithoutSupport,
    ];

    /// The wire name (`msp`, `reseller_with_support`, `reseller_without_support`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Msp => "msp",
            ConnectionType::ResellerWithSupport => "reseller_with_support",
            ConnectionType::ResellerWithoutSupport => "reseller_without_support",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<ConnectionType> {
        ConnectionType::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionType::Msp => "Managed service provider (MSP)",
            ConnectionType::ResellerWithSupport => "Reseller with support (first contact)",
            ConnectionType::ResellerWithoutSupport => "Reseller without support",
        }
    }

    /// The column of the matrix for this connection type.
    pub fn grants(self, capability: Capability) -> bool {
        use Capability::*;
        match self {
            ConnectionType::Msp => true,
            ConnectionType::ResellerWithSupport => {
                matches!(capability, FirstContact | BillingViaPartner)
            }
            ConnectionType::ResellerWithoutSupport => matches!(capability, BillingViaPartner),
        }
    }

    /// The capabilities granted, in matrix order.
    pub fn capabilities(self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|c| self.grants(*c))
            .collect()
    }

    /// Without first contact, the vendor is the first contact.
    pub fn first_contact(self) -> FirstContact {
        if self.grants(Capability::FirstContact) {
            FirstContact::Partner
        } else {
            FirstContact::Vendor
        }
    }
}

impl Capability {
    /// Every capability, in the order the matrix shows them.
    pub const ALL: [Capability; 6] = [
        Capability::ManagePortal,
        Capability::MultiTenancy,
        Capability::WhiteLabelPopup,
        Capability::InstallationOverview,
        Capability::FirstContact,
        Capability::BillingViaPartner,
    ];

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Capability::ManagePortal => "Manage the portal on behalf of the customer",
            Capability::MultiTenancy => "Multi-tenancy (manage many customers from one view)",
            Capability::WhiteLabelPopup => "White-label pop-up notification",
            Capability::InstallationOverview => "Installation overview across managed customers",
            Capability::FirstContact => "First contact for the customer (support)",
            Capability::BillingViaPartner => "Billing via partner",
        }
    }
}

/// Pricing is never part of the matrix: it is set by each partner's contract.
pub const PRICING_NOTE: &str = "see contract";

/// The published matrix document (`GET /api/capabilities`).
#[derive(Debug, Serialize)]
pub struct MatrixDocument {
    /// One entry per connection type.
    pub connection_types: Vec<ConnectionColumn>,
    /// The rows, with their labels.
    pub capabilities: Vec<CapabilityRow>,
    /// Pricing for every connection type.
    pub pricing: &'static str,
}

/// One column of the matrix.
#[derive(Debug, Serialize)]
pub struct ConnectionColumn {
    /// Wire name.
    pub connection: ConnectionType,
    /// Label for people.
    pub label: &'static str,
    /// Granted capabilities, in matrix order.
    pub capabilities: Vec<Capability>,
    /// Who the customer's first contact is.
    pub first_contact: FirstContact,
}

/// One row of the matrix.
#[derive(Debug, Serialize)]
pub struct CapabilityRow {
    /// Wire name.
    pub capability: Capability,
    /// Label for people.
    pub label: &'static str,
}

/// The whole matrix, ready to serialise.
pub fn matrix() -> MatrixDocument {
    MatrixDocument {
        connection_types: ConnectionType::ALL
            .into_iter()
            .map(|connection| ConnectionColumn {
                connection,
                label: connection.label(),
                capabilities: connection.capabilities(),
                first_contact: connection.first_contact(),
            })
            .collect(),
        capabilities: Capability::ALL
            .into_iter()
            .map(|capability| CapabilityRow {
                capability,
                label: capability.label(),
            })
            .collect(),
        pricing: PRICING_NOTE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;
    use ConnectionType::*;

    /// The table in PRODUCT.md, cell by cell.
    #[test]
    fn matrix_matches_the_product_table() {
        let table = [
            (ManagePortal, [true, false, false]),
            (MultiTenancy, [true, false, false]),
            (WhiteLabelPopup, [true, false, false]),
            (InstallationOverview, [true, false, false]),
            (FirstContact, [true, true, false]),
            (BillingViaPartner, [true, true, true]),
        ];
        for (capability, row) in table {
            for (connection, granted) in ConnectionType::ALL.into_iter().zip(row) {
                assert_eq!(
                    connection.grants(capability),
                    granted,
                    "{connection:?} {capability:?}"
                );
            }
        }
    }

    #[test]
    fn first_contact_follows_the_matrix() {
        assert_eq!(Msp.first_contact(), super::FirstContact::Partner);
        assert_eq!(
            ResellerWithSupport.first_contact(),
            super::FirstContact::Partner
        );
        assert_eq!(
            ResellerWithoutSupport.first_contact(),
            super::FirstContact::Vendor
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for c in ConnectionType::ALL {
            assert_eq!(ConnectionType::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).ok(),
                Some(serde_json::json!(c.as_str()))
            );
        }
        assert_eq!(ConnectionType::parse("MSP"), None);
    }
}
