//! Scopes: the subset of a user's permissions a credential carries. One
//! vocabulary for API keys and OAuth tokens: each permission is a scope of
//! the same name (`read:items`, ...). A credential with no scopes is
//! limited by its owner's role alone; one with scopes gets the role's
//! permissions that are also among its scopes, computed on every request.

use std::fmt;
use std::str::FromStr;

use super::role::{Permission, Role};

/// A set of permissions, as a credential's scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scopes(u8);

/// The text names a scope that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {:?}: expected {}", .0, Scopes::all())]
pub struct UnknownScope(pub String);

impl Scopes {
    /// Every scope there is.
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }

    fn bit(permission: Permission) -> u8 {
        let at = Permission::ALL
            .iter()
            .position(|p| *p == permission)
            .unwrap_or_default();
        1 << at
    }

    /// Whether `permission` is among the scopes.
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & Self::bit(permission) != 0
    }

    /// Whether there are none.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes, in the order of [`Permission::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }

    /// The permissions `role` grants.
    pub fn granted_by(role: Role) -> Self {
        role.permissions().iter().copied().collect()
    }

    /// Those of these scopes that `allowed` lacks.
    pub fn beyond(self, allowed: Scopes) -> Scopes {
        Scopes(self.0 & !allowed.0)
    }
}

impl FromIterator<Permission> for Scopes {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Scopes(iter.into_iter().fold(0, |bits, p| bits | Scopes::bit(p)))
    }
}

/// Space-separated, in a stable order: the `scope` syntax of OAuth
/// (RFC 6749 section 3.3), and how the database stores them.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(p.as_str())?;
        }
        Ok(())
    }
}

/// Reads a space-separated list; repeats are allowed, unknown names are not.
impl FromStr for Scopes {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split_ascii_whitespace()
            .map(|name| name.parse::<Permission>())
            .collect()
    }
}

impl FromStr for Permission {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_text() {
        let scopes: Scopes = "write:items read:items write:items".parse().unwrap();
        assert_eq!(scopes.to_string(), "read:items write:items");
        assert_eq!(scopes.to_string().parse::<Scopes>().unwrap(), scopes);
        assert_eq!(
            Scopes::all().to_string().parse::<Scopes>().unwrap(),
            Scopes::all()
        );
        assert!("".parse::<Scopes>().unwrap().is_empty());
        assert_eq!(
            "read:items root".parse::<Scopes>(),
            Err(UnknownScope("root".into()))
        );
    }

    #[test]
    fn a_role_bounds_the_scopes_a_credential_may_ask_for() {
        let asked: Scopes = "read:items write:items".parse().unwrap();
        let of = Scopes::granted_by;
        assert!(asked.beyond(of(Role::User)).is_empty());
        assert_eq!(asked.beyond(of(Role::Readonly)).to_string(), "write:items");
        assert_eq!(asked.beyond(of(Role::Auditor)), asked);
        assert!(Scopes::all().beyond(of(Role::Admin)).is_empty());
    }
}
