//! The customer's details as a partner enters them, and their rules.

use serde::{Deserialize, Serialize};

use crate::problem::FieldRule;
use crate::validation::{MAX_TEXT, Report, VatCheck, check_vat_id, e164, is_country};

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Street name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// House number (may hold letters: `12b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub house_number: Option<String>,
    /// Postcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The customer's company.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Company {
    /// Legal or trading name.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// VAT ID, normalised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
}

/// The person who becomes the organization's first admin.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Where the invite goes; the admin's login.
    pub email: String,
}

/// Where invoices go.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Billing {
    /// One of the partner's billing accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164 phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Everything known about the customer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CustomerDetails {
    /// The company.
    pub company: Company,
    /// The contact person.
    pub contact: Contact,
    /// Billing details.
    #[serde(default)]
    pub billing: Billing,
}

/// [`Address`] as it arrives: every field may be missing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AddressInput {
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub street: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub house_number: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub postcode: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub country: Option<String>,
}

/// [`Company`] as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CompanyInput {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub address: Option<AddressInput>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub vat_id: Option<String>,
}

/// [`Contact`] as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ContactInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
}

/// [`Billing`] as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BillingInput {
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub phone: Option<String>,
}

/// [`CustomerDetails`] as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CustomerInput {
    pub company: Option<CompanyInput>,
    pub contact: Option<ContactInput>,
    #[serde(default, deserialize_with = "crate::validation::not_null")]
    pub billing: Option<BillingInput>,
}

impl CustomerInput {
    /// Checks every field, recording each problem under `base` (a JSON Pointer
    /// prefix such as `/customer`), and returns the cleaned details.
    pub fn validate(&self, base: &str, report: &mut Report) -> CustomerDetails {
        let company = self.company.clone().unwrap_or_default();
        let contact = self.contact.clone().unwrap_or_default();
        let billing = self.billing.clone().unwrap_or_default();
        let address = company.address.clone().unwrap_or_default();
        let p = |suffix: &str| format!("{base}{suffix}");

        // One message for any wrong country ("Germany", "XX", "D E"): the
        // code list covers length and characters too.
        let country = address
            .country
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_ascii_uppercase);
        if let Some(c) = &country
            && !is_country(c)
        {
            report.push(&p("/company/address/country"), FieldRule::Country);
        }
        let vat_id = company
            .vat_id
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .and_then(|v| {
                let known_country = country.as_deref().filter(|c| is_country(c));
                match check_vat_id(v, known_country) {
                    VatCheck::Valid(v) | VatCheck::Unchecked(v) => Some(v),
                    VatCheck::Invalid(why) => {
                        report.push(&p("/company/vat_id"), why);
                        None
                    }
                }
            });
        let phone = report
            .optional_text(&p("/billing/phone"), billing.phone.as_deref(), 32)
            .and_then(|raw| {
                let normalized = e164(&raw);
                if normalized.is_none() {
                    report.push(&p("/billing/phone"), FieldRule::Phone);
                }
                normalized
            });

        CustomerDetails {
            company: Company {
                name: report.required_text(&p("/company/name"), company.name.as_deref(), MAX_TEXT),
                address: Address {
                    street: report.optional_text(
                        &p("/company/address/street"),
                        address.street.as_deref(),
                        MAX_TEXT,
                    ),
                    house_number: report.optional_text(
                        &p("/company/address/house_number"),
                        address.house_number.as_deref(),
                        20,
                    ),
                    postcode: report.optional_text(
                        &p("/company/address/postcode"),
                        address.postcode.as_deref(),
                        20,
                    ),
                    city: report.optional_text(
                        &p("/company/address/city"),
                        address.city.as_deref(),
                        MAX_TEXT,
                    ),
                    country,
                },
                vat_id,
            },
            contact: Contact {
                first_name: report.required_text(
                    &p("/contact/first_name"),
                    contact.first_name.as_deref(),
                    MAX_TEXT,
                ),
                last_name: report.required_text(
                    &p("/contact/last_name"),
                    contact.last_name.as_deref(),
                    MAX_TEXT,
                ),
                email: report.required_email(&p("/contact/email"), contact.email.as_deref()),
            },
            billing: Billing {
                email: report.optional_email(&p("/billing/email"), billing.email.as_deref()),
                phone,
            },
        }
    }
}

/// One member of a JSON merge patch (RFC 7396): absent leaves the value as
/// it is, `null` removes it, anything else sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Absent: unchanged.
    #[default]
    Keep,
    /// `null`: removed.
    Remove,
    /// A value: set (merged, for an object).
    Set(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Patch<T>, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Patch::Remove, Patch::Set))
    }
}

impl Patch<String> {
    fn apply(self, field: &mut Option<String>) {
        match self {
            Patch::Keep => {}
            Patch::Remove => *field = None,
            Patch::Set(v) => *field = Some(v),
        }
    }
}

/// Applies an object patch to an optional object.
fn merge<T: Default, P>(field: &mut Option<T>, patch: Patch<P>, apply: impl FnOnce(&mut T, P)) {
    match patch {
        Patch::Keep => {}
        Patch::Remove => *field = None,
        Patch::Set(p) => apply(field.get_or_insert_with(T::default), p),
    }
}

/// Corrections to an [`Address`], as a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct AddressPatch {
    #[serde(default)]
    pub street: Patch<String>,
    #[serde(default)]
    pub house_number: Patch<String>,
    #[serde(default)]
    pub postcode: Patch<String>,
    #[serde(default)]
    pub city: Patch<String>,
    #[serde(default)]
    pub country: Patch<String>,
}

/// Corrections to a [`Company`], as a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CompanyPatch {
    #[serde(default)]
    pub name: Patch<String>,
    #[serde(default)]
    pub address: Patch<AddressPatch>,
    #[serde(default)]
    pub vat_id: Patch<String>,
}

/// Corrections to a [`Contact`], as a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct ContactPatch {
    #[serde(default)]
    pub first_name: Patch<String>,
    #[serde(default)]
    pub last_name: Patch<String>,
    #[serde(default)]
    pub email: Patch<String>,
}

/// Corrections to [`Billing`], as a merge patch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct BillingPatch {
    #[serde(default)]
    pub email: Patch<String>,
    #[serde(default)]
    pub phone: Patch<String>,
}

/// What a customer corrects or adds to the invited details when it
/// registers: a JSON merge patch (RFC 7396) over them, parsed into types.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct CustomerPatch {
    #[serde(default)]
    pub company: Patch<CompanyPatch>,
    #[serde(default)]
    pub contact: Patch<ContactPatch>,
    #[serde(default)]
    pub billing: Patch<BillingPatch>,
}

impl CustomerPatch {
    /// Sets the text member at `path` (`["company", "address", "city"]`);
    /// `false` if there is no such member.
    pub fn set(&mut self, path: &[&str], value: Patch<String>) -> bool {
        fn object<T: Default>(p: &mut Patch<T>) -> &mut T {
            if !matches!(p, Patch::Set(_)) {
                *p = Patch::Set(T::default());
            }
            match p {
                Patch::Set(t) => t,
                _ => unreachable!("just set"),
            }
        }
        let slot = match path {
            ["company", "name"] => &mut object(&mut self.company).name,
            ["company", "vat_id"] => &mut object(&mut self.company).vat_id,
            ["company", "address", leaf] => {
                let a = object(&mut object(&mut self.company).address);
                match *leaf {
                    "street" => &mut a.street,
                    "house_number" => &mut a.house_number,
                    "postcode" => &mut a.postcode,
                    "city" => &mut a.city,
                    "country" => &mut a.country,
                    _ => return false,
                }
            }
            ["contact", "first_name"] => &mut object(&mut self.contact).first_name,
            ["contact", "last_name"] => &mut object(&mut self.contact).last_name,
            ["contact", "email"] => &mut object(&mut self.contact).email,
            ["billing", "email"] => &mut object(&mut self.billing).email,
            ["billing", "phone"] => &mut object(&mut self.billing).phone,
            _ => return false,
        };
        *slot = value;
        true
    }

    /// The invited details with these corrections, ready to validate.
    pub fn apply(self, invited: &CustomerDetails) -> CustomerInput {
        let mut input = CustomerInput::from(invited);
        merge(&mut input.company, self.company, |c, p| {
            p.name.apply(&mut c.name);
            p.vat_id.apply(&mut c.vat_id);
            merge(&mut c.address, p.address, |a, p| {
                p.street.apply(&mut a.street);
                p.house_number.apply(&mut a.house_number);
                p.postcode.apply(&mut a.postcode);
                p.city.apply(&mut a.city);
                p.country.apply(&mut a.country);
            });
        });
        merge(&mut input.contact, self.contact, |c, p| {
            p.first_name.apply(&mut c.first_name);
            p.last_name.apply(&mut c.last_name);
            p.email.apply(&mut c.email);
        });
        merge(&mut input.billing, self.billing, |b, p| {
            p.email.apply(&mut b.email);
            p.phone.apply(&mut b.phone);
        });
        input
    }
}

impl From<&CustomerDetails> for CustomerInput {
    fn from(d: &CustomerDetails) -> CustomerInput {
        let a = &d.company.address;
        CustomerInput {
            company: Some(CompanyInput {
                name: Some(d.company.name.clone()),
                address: Some(AddressInput {
                    street: a.street.clone(),
                    house_number: a.house_number.clone(),
                    postcode: a.postcode.clone(),
                    city: a.city.clone(),
                    country: a.country.clone(),
                }),
                vat_id: d.company.vat_id.clone(),
            }),
            contact: Some(ContactInput {
                first_name: Some(d.contact.first_name.clone()),
                last_name: Some(d.contact.last_name.clone()),
                email: Some(d.contact.email.clone()),
            }),
            billing: Some(BillingInput {
                email: d.billing.email.clone(),
                phone: d.billing.phone.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: serde_json::Value) -> CustomerInput {
        serde_json::from_value(json).expect("input shape")
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let customer = input(serde_json::json!({
            "company": {"address": {"country": "XX"}, "vat_id": "DE12"},
            "contact": {"first_name": "Ada", "email": "nope"},
            "billing": {"phone": "0301234"}
        }));
        let mut report = Report::new();
        customer.validate("/customer", &mut report);
        let errors = report.finish().expect_err("invalid");
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        for expected in [
            "/customer/company/name",
            "/customer/company/address/country",
            "/customer/contact/last_name",
            "/customer/contact/email",
            "/customer/billing/phone",
        ] {
            assert!(
                pointers.contains(&expected),
                "{expected} missing from {pointers:?}"
            );
        }
    }

    #[test]
    fn a_wrong_country_is_one_error() {
        for country in ["Germany", "XX", "D\u{7}", "d e"] {
            let customer = input(serde_json::json!({"company": {"address": {"country": country}}}));
            let mut report = Report::new();
            customer.validate("", &mut report);
            let errors = report.finish().expect_err("invalid");
            let at_country: Vec<_> = errors
                .iter()
                .filter(|e| e.pointer == "/company/address/country")
                .collect();
            assert_eq!(at_country.len(), 1, "{country:?}: {at_country:?}");
            assert!(
                at_country[0].detail.contains("ISO 3166-1"),
                "{at_country:?}"
            );
        }
    }

    #[test]
    fn valid_details_are_normalised() {
        let customer = input(serde_json::json!({
            "company": {"name": " Acme GmbH ", "address": {"country": "de", "city": "Berlin"}, "vat_id": "de 123456789"},
            "contact": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@ACME.example"},
            "billing": {"email": "billing@partner.example", "phone": "+49 30 1234567"}
        }));
        let mut report = Report::new();
        let details = customer.validate("/customer", &mut report);
        assert!(report.is_empty(), "{report:?}");
        assert_eq!(details.company.name, "Acme GmbH");
        assert_eq!(details.company.address.country.as_deref(), Some("DE"));
        assert_eq!(details.company.vat_id.as_deref(), Some("DE123456789"));
        assert_eq!(details.contact.email, "ada@acme.example");
        assert_eq!(details.billing.phone.as_deref(), Some("+49301234567"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let r: Result<CustomerInput, _> =
            serde_json::from_value(serde_json::json!({"compnay": {}}));
        assert!(r.is_err());
    }

    #[test]
    fn a_merge_patch_corrects_adds_and_removes() {
        let mut invited = CustomerDetails::default();
        invited.company.name = "Acme".into();
        invited.company.vat_id = Some("DE123456789".into());
        invited.company.address.city = Some("Berlin".into());
        invited.contact.email = "ada@acme.example".into();
        let patch: CustomerPatch = serde_json::from_value(serde_json::json!({
            "company": {"vat_id": null, "address": {"postcode": "10115"}},
            "billing": {"phone": "+4930123456"}
        }))
        .expect("patch");
        let input = patch.apply(&invited);
        let company = input.company.expect("company");
        assert_eq!(company.name.as_deref(), Some("Acme"), "absent: kept");
        assert_eq!(company.vat_id, None, "null: removed");
        let address = company.address.expect("address");
        assert_eq!(address.city.as_deref(), Some("Berlin"));
        assert_eq!(address.postcode.as_deref(), Some("10115"), "set");
        assert_eq!(
            input.billing.expect("billing").phone.as_deref(),
            Some("+4930123456")
        );
        let mut by_path = CustomerPatch::default();
        assert!(by_path.set(&["company", "address", "city"], Patch::Set("Köln".into())));
        assert!(!by_path.set(&["company", "nope"], Patch::Remove));
        assert!(
            serde_json::from_value::<CustomerPatch>(serde_json::json!({"company": "x"})).is_err(),
            "an object member must be an object"
        );
    }
}
