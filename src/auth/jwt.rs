//! JSON Web Tokens: HS256 only, `exp`/`iss`/`aud` required, a small explicit
//! leeway (jsonwebtoken's default is 60 s), and a `type` claim so a refresh
//! token is never accepted where an access token is expected.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Secret;
use crate::domain::{Role, User};

/// Issuer and audience of every token.
const ISSUER: &str = "aiapi";
/// Seconds of clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 5;

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Authenticates requests.
    Access,
    /// Buys a new pair at `/auth/refresh`, once.
    Refresh,
}

/// The claims of both token types.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The role when issued (informational: permissions come from the database).
    pub role: Role,
    /// Access or refresh.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Unique token id, for revocation.
    pub jti: Uuid,
    /// The login this token descends from: the refresh-token family.
    /// Revoking the family revokes every token carrying it.
    pub fam: Uuid,
    /// The user's `token_version` when issued.
    pub ver: i64,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// When the user last proved their password (seconds since the epoch):
    /// tokens of a refreshed login keep the login's time. Zero (never) in
    /// tokens issued before this claim existed.
    #[serde(default)]
    pub auth_time: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// `aiapi` for a login's tokens; `AIAPI_PUBLIC_URL` for the
    /// authorization server's.
    pub iss: String,
    /// `aiapi` for a login's tokens; the resource (RFC 8707) an OAuth
    /// token was issued for.
    pub aud: String,
    /// An OAuth token's scopes, space-separated; absent: the whole role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OAuth client a token was issued to; absent for a login's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// What an OAuth token is bound to.
#[derive(Debug, Clone)]
pub struct OAuthBinding {
    /// The authorization server (`AIAPI_PUBLIC_URL`).
    pub issuer: String,
    /// The resource the token is for.
    pub resource: String,
    /// Its scopes, if narrower than the role.
    pub scope: Option<String>,
    /// The client it is issued to.
    pub client_id: String,
}

impl Claims {
    /// Whether the token may authenticate a request to `resource`: a
    /// login's token anywhere, an OAuth token only at the resource it was
    /// issued for.
    pub fn accepted_at(&self, resource: &str) -> bool {
        match self.client_id {
            None => self.iss == ISSUER && self.aud == ISSUER,
            Some(_) => self.iss != ISSUER && self.aud == resource,
        }
    }

    /// When the token expires.
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }
}

/// A freshly signed token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The encoded JWT.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

/// Signing and verification keys with the token lifetimes.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    /// The current secret's key first, then the previous secrets', which
    /// verify tokens signed before a rotation but never sign.
    decoding: Vec<DecodingKey>,
    validation: Validation,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
}

/// Why a token was refused. Deliberately not detailed to the caller.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signed by us, but past its expiry.
    #[error("expired token")]
    Expired,
    /// Bad signature, wrong algorithm, malformed, wrong issuer...
    #[error("invalid token")]
    Invalid,
    /// A token of the other type.
    #[error("wrong token type")]
    WrongType,
}

impl JwtKeys {
    /// Keys from the secret (and the `previous` secrets, for verification
    /// only), with the given lifetimes.
    pub fn new(
        secret: &Secret,
        previous: &[Secret],
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: std::iter::once(secret)
                .chain(previous)
                .map(|s| DecodingKey::from_secret(s.expose().as_bytes()))
                .collect(),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// Also accepts the tokens the authorization server `issuer` issues for
    /// `resources` (each token is then checked against the resource it is
    /// presented to, see [`Claims::accepted_at`]).
    pub fn accepting_oauth(mut self, issuer: &str, resources: &[String]) -> Self {
        self.validation.set_issuer(&[ISSUER, issuer]);
        let mut audiences = vec![ISSUER.to_owned()];
        audiences.extend(resources.iter().cloned());
        self.validation.set_audience(&audiences);
        self
    }

    /// Signs a token of `token_type` for `user`, in refresh family `family`,
    /// of a login that checked the password at `auth_time`.
    pub fn issue(
        &self,
        user: &User,
        token_type: TokenType,
        family: Uuid,
        now: DateTime<Utc>,
        auth_time: DateTime<Utc>,
    ) -> IssuedToken {
        self.issue_bound(user, token_type, family, now, auth_time, None)
    }

    /// Like [`Self::issue`], bound to an OAuth client and resource when
    /// `binding` is given.
    pub fn issue_bound(
        &self,
        user: &User,
        token_type: TokenType,
        family: Uuid,
        now: DateTime<Utc>,
        auth_time: DateTime<Utc>,
        binding: Option<&OAuthBinding>,
    ) -> IssuedToken {
        let ttl = match token_type {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: user.id,
            role: user.role,
            token_type,
            jti: Uuid::new_v4(),
            fam: family,
            ver: user.token_version,
            iat: now.timestamp(),
            auth_time: auth_time.timestamp(),
            exp: (now + ttl).timestamp(),
            iss: binding.map_or_else(|| ISSUER.into(), |b| b.issuer.clone()),
            aud: binding.map_or_else(|| ISSUER.into(), |b| b.resource.clone()),
            scope: binding.and_then(|b| b.scope.clone()),
            client_id: binding.map(|b| b.client_id.clone()),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        IssuedToken { token, claims }
    }

    /// Verifies `token` and checks it is of `expected` type. Beyond the
    /// signature and expiry, a token must not claim to be issued in the
    /// future, nor to live longer than this server issues tokens for: both
    /// only happen when the secret has leaked.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let mut expired = false;
        let claims = self
            .decoding
            .iter()
            .find_map(
                |key| match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                    Ok(data) => Some(data.claims),
                    Err(e) => {
                        // Reported only once the signature has verified.
                        expired |=
                            matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature);
                        None
                    }
                },
            )
            .ok_or(if expired {
                TokenError::Expired
            } else {
                TokenError::Invalid
            })?;
        let ttl = match claims.token_type {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
        };
        let leeway = LEEWAY_SECS as i64;
        if claims.iat > Utc::now().timestamp() + leeway
            || claims.exp - claims.iat > ttl.num_seconds() + leeway
            || claims.auth_time > claims.iat + leeway
        {
            return Err(TokenError::Invalid);
        }
        if claims.token_type != expected {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time;

    fn user() -> User {
        let now = time::now();
        User {
            id: Uuid::new_v4(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            full_name: None,
            role: Role::User,
            password_hash: String::new(),
            is_active: true,
            token_version: 3,
            created_at: now,
            updated_at: now,
            last_login_at: None,
        }
    }

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(
            &Secret::new(secret),
            &[],
            Duration::minutes(30),
            Duration::days(7),
        )
    }

    #[test]
    fn tokens_verify_only_as_their_own_type_and_key() {
        let keys = keys("a-secret-that-is-at-least-32-bytes!!");
        let user = user();
        let access = keys.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            Utc::now(),
            Utc::now(),
        );
        let claims = keys.verify(&access.token, TokenType::Access).unwrap();
        assert_eq!(claims.sub, user.id);
        assert_eq!(claims.ver, 3);
        assert!(matches!(
            keys.verify(&access.token, TokenType::Refresh),
            Err(TokenError::WrongType)
        ));
        let other = self::keys("another-secret-that-is-32-bytes-long");
        assert!(other.verify(&access.token, TokenType::Access).is_err());
    }

    #[test]
    fn expiry_allows_only_a_few_seconds_of_leeway() {
        let keys = keys("a-secret-that-is-at-least-32-bytes!!");
        let user = user();
        let issued_long_ago = Utc::now() - Duration::minutes(30) - Duration::seconds(30);
        let stale = keys.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            issued_long_ago,
            issued_long_ago,
        );
        assert!(keys.verify(&stale.token, TokenType::Access).is_err());
        let just_expired = Utc::now() - Duration::minutes(30) - Duration::seconds(2);
        let fresh_enough = keys.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            just_expired,
            just_expired,
        );
        assert!(keys.verify(&fresh_enough.token, TokenType::Access).is_ok());
    }

    #[test]
    fn tokens_from_the_future_or_living_too_long_are_refused() {
        let keys = keys("a-secret-that-is-at-least-32-bytes!!");
        let user = user();
        let later = Utc::now() + Duration::minutes(10);
        let early = keys.issue(&user, TokenType::Access, Uuid::new_v4(), later, later);
        assert!(keys.verify(&early.token, TokenType::Access).is_err());
        let long = JwtKeys::new(
            &Secret::new("a-secret-that-is-at-least-32-bytes!!"),
            &[],
            Duration::days(365),
            Duration::days(7),
        );
        let forever = long.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            Utc::now(),
            Utc::now(),
        );
        assert!(long.verify(&forever.token, TokenType::Access).is_ok());
        assert!(keys.verify(&forever.token, TokenType::Access).is_err());
    }

    #[test]
    fn previous_secrets_verify_but_never_sign() {
        let old = keys("the-old-secret-that-is-32-bytes-long!");
        let user = user();
        let before = old.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            Utc::now(),
            Utc::now(),
        );
        let rotated = JwtKeys::new(
            &Secret::new("the-new-secret-that-is-32-bytes-long!"),
            &[Secret::new("the-old-secret-that-is-32-bytes-long!")],
            Duration::minutes(30),
            Duration::days(7),
        );
        assert!(rotated.verify(&before.token, TokenType::Access).is_ok());
        let after = rotated.issue(
            &user,
            TokenType::Access,
            Uuid::new_v4(),
            Utc::now(),
            Utc::now(),
        );
        assert!(old.verify(&after.token, TokenType::Access).is_err());
    }
}
