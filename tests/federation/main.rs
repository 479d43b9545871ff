//! Federated login through auth modules: the administrator's operations, the login itself,
//! and the account each login becomes.

mod accounts;
mod admin;
mod common;
mod grant;
mod login;
mod oidc;
