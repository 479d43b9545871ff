//! No secret in `Debug`: every type that holds a request or a response is formatted with
//! secrets in it, and none shows up.

use std::sync::Arc;

use portcullis::client::{ClientSettings, ClientType, Flow, NewClient, SecretChange};
use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
use portcullis::users::MemoryUserDirectory;
use portcullis::{AuthorizationServer, Authorize, Params, Scope, ServerSettings};

const SECRETS: &[(&str, &str)] = &[
    ("client_secret", "SECRET-client-secret-0123456789abcdef"),
    ("code", "SECRET-code"),
    ("code_verifier", "SECRET-code-verifier"),
    ("refresh_token", "SECRET-refresh-token"),
    ("password", "SECRET-password"),
    ("token", "SECRET-token"),
    ("subject_token", "SECRET-subject-token"),
    ("actor_token", "SECRET-actor-token"),
];

fn assert_clean(shown: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!shown.contains(s), "`{s}` appears in {shown}");
    }
}

#[test]
fn params_show_names_and_plain_values_but_no_secret() {
    let mut pairs: Vec<(String, String)> = SECRETS
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    pairs.push(("grant_type".into(), "authorization_code".into()));
    let params = Params::new(pairs);
    let shown = format!("{params:?}");
    assert_clean(&shown, &SECRETS.iter().map(|(_, v)| *v).collect::<Vec<_>>());
    assert!(shown.contains("authorization_code") && shown.contains("client_secret"));
    let shown = format!("{params:#?}");
    assert_clean(&shown, &SECRETS.iter().map(|(_, v)| *v).collect::<Vec<_>>());
}

#[tokio::test]
async fn responses_and_outcomes_show_no_issued_token_or_code() {
    let users = MemoryUserDirectory::default();
    users
        .insert("alice", "pw", Scope::parse("read").unwrap())
        .unwrap();
    let mut settings = ServerSettings::new("https://as.example").unwrap();
    settings.implicit_grant = true;
    let server = AuthorizationServer::builder(settings, Arc::new(users))
        .build()
        .unwrap();
    let mut new = NewClient::manual(
        ClientType::Public,
        ClientSettings {
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            flows: [Flow::AuthorizationCode, Flow::Implicit]
                .into_iter()
                .collect(),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    new.client_id = Some(portcullis::ClientId::new("app").unwrap());
    server.clients().create(new).await.unwrap();
    let secret = "conf-secret-0123456789abcdef0123456789";
    let mut conf = NewClient::manual(
        ClientType::Confidential,
        ClientSettings {
            name: "Conf".into(),
            flows: [Flow::ClientCredentials].into_iter().collect(),
            scopes: vec!["read".into()],
            ..ClientSettings::default()
        },
    );
    conf.client_id = Some(portcullis::ClientId::new("conf").unwrap());
    server
        .clients()
        .create_with_secret(
            conf,
            SecretChange::KeyIn {
                secret: secret.into(),
                confirmation: secret.into(),
            },
        )
        .await
        .unwrap();

    // The code in an authorization response.
    let verifier = CodeVerifier::generate().unwrap();
    let challenge = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    let q = format!(
        "response_type=code&client_id=app&redirect_uri=https://app.example/cb&state=st\
         &code_challenge={}&code_challenge_method=S256",
        challenge.as_str()
    );
    let outcome = server.authorize(&Params::parse(&q), Some("alice")).await;
    let Authorize::Redirect(location) = &outcome else {
        panic!("{outcome:?}")
    };
    let code = location
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();
    let shown = format!("{outcome:?}");
    assert_clean(&shown, &[&code]);
    assert!(shown.contains("state=st"), "{shown}");

    // The token in an implicit response.
    let q = "response_type=token&client_id=app&redirect_uri=https://app.example/cb";
    let outcome = server.authorize(&Params::parse(q), Some("alice")).await;
    let Authorize::Redirect(location) = &outcome else {
        panic!("{outcome:?}")
    };
    let token = location
        .split(['#', '&'])
        .find_map(|p| p.strip_prefix("access_token="))
        .unwrap()
        .to_owned();
    assert_clean(&format!("{outcome:?}"), &[&token]);

    // The tokens in a token response, and the request that carried the code and verifier.
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https://app.example/cb\
         &client_id=app&code_verifier={}",
        verifier.secret()
    );
    let params = Params::parse(&form);
    assert_clean(&format!("{params:?}"), &[&code, verifier.secret()]);
    let answer = server.token(None, &params).await;
    assert_eq!(answer.status(), 200, "{}", answer.body());
    let json = answer.json();
    let issued = [
        json["access_token"].as_str().unwrap(),
        json["refresh_token"].as_str().unwrap(),
    ];
    let shown = format!("{answer:?}");
    assert_clean(&shown, &issued);
    assert!(shown.contains("Bearer"), "{shown}");

    // A client secret in the request of a client credentials grant.
    let form = format!("grant_type=client_credentials&client_id=conf&client_secret={secret}");
    let params = Params::parse(&form);
    assert_clean(&format!("{params:?}"), &[secret]);
    let answer = server.token(None, &params).await;
    let own = answer.json()["access_token"].as_str().unwrap().to_owned();
    assert_clean(&format!("{answer:?}"), &[&own]);

    // Introspection answers and the tokens in their requests.
    let form = format!("token={own}");
    let params = Params::parse(&form);
    assert_clean(&format!("{params:?}"), &[&own]);
}

#[test]
fn a_plain_challenge_is_the_verifier_and_is_hidden() {
    use portcullis::pkce::{CodeChallenge, CodeVerifier, PkceMethod};
    let verifier = CodeVerifier::generate().unwrap();
    let plain = CodeChallenge::from_verifier(&verifier, PkceMethod::Plain);
    assert_clean(&format!("{plain:?}"), &[verifier.secret()]);
    let s256 = CodeChallenge::from_verifier(&verifier, PkceMethod::S256);
    assert!(format!("{s256:?}").contains(s256.as_str()));
}
