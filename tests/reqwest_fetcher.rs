//! Feature `reqwest`: the fetcher keeps `HttpFetcher`'s contract against real servers on
//! loopback (no redirect followed, the deadline and size cap enforced while reading) and
//! refuses non-public addresses unless told otherwise.
#![cfg(feature = "reqwest")]

use std::time::Duration;

use portcullis::store::{FetchError, HttpFetcher, HttpRequest, ReqwestFetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// A server on loopback answering each path with a canned response; `/slow` drips its body.
async fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&request[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let json = r#"{"client_id":"x"}"#;
                let answer = match path.as_str() {
                    "/doc" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}",
                        json.len()
                    ),
                    "/redirect" => "HTTP/1.1 302 Found\r\nLocation: /doc\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                    "/big" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n{}",
                        " ".repeat(10_000)
                    ),
                    "/big-unannounced" => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}",
                        " ".repeat(10_000)
                    ),
                    "/slow" => {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
                        let _ = socket.write_all(head.as_bytes()).await;
                        for _ in 0..1000 {
                            if socket.write_all(b" ").await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        return;
                    }
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                };
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

fn get(url: &str, max: usize, deadline: Duration) -> HttpRequest {
    let mut r = HttpRequest::get(Url::parse(url).unwrap());
    r.max_response_bytes = max;
    r.deadline = deadline;
    r
}

fn dev() -> ReqwestFetcher {
    ReqwestFetcher::allowing_loopback(Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn a_document_is_fetched_and_a_redirect_comes_back_unfollowed() {
    let port = server().await;
    let base = format!("http://127.0.0.1:{port}");
    let r = dev()
        .fetch(get(
            &format!("{base}/doc"),
            5 * 1024,
            Duration::from_secs(2),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.body, br#"{"client_id":"x"}"#);

    let r = dev()
        .fetch(get(
            &format!("{base}/redirect"),
            5 * 1024,
            Duration::from_secs(2),
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 302, "the redirect itself, not followed");
    assert_eq!(r.header("location"), Some("/doc"));
}

#[tokio::test]
async fn the_size_cap_holds_whether_or_not_the_length_is_announced() {
    let port = server().await;
    for path in ["/big", "/big-unannounced"] {
        let got = dev()
            .fetch(get(
                &format!("http://127.0.0.1:{port}{path}"),
                5 * 1024,
                Duration::from_secs(2),
            ))
            .await;
        assert_eq!(got, Err(FetchError::TooLarge { limit: 5 * 1024 }), "{path}");
    }
}

#[tokio::test]
async fn a_dripping_server_meets_the_deadline() {
    let port = server().await;
    let started = std::time::Instant::now();
    let got = dev()
        .fetch(get(
            &format!("http://127.0.0.1:{port}/slow"),
            5 * 1024,
            Duration::from_millis(400),
        ))
        .await;
    assert!(matches!(got, Err(FetchError::Deadline(_))), "{got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped near the deadline"
    );
}

#[tokio::test]
async fn loopback_and_private_addresses_are_refused_by_default() {
    let port = server().await;
    let fetcher = ReqwestFetcher::new(Duration::from_secs(2)).unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/doc"),
        format!("http://localhost:{port}/doc"),
        format!("http://[::1]:{port}/doc"),
        "http://10.0.0.1/doc".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::ffff:127.0.0.1]/doc".to_owned(),
    ] {
        let got = fetcher
            .fetch(get(&url, 5 * 1024, Duration::from_secs(2)))
            .await;
        match got {
            Err(FetchError::Connect(why)) => {
                assert!(why.contains("refuses"), "{url}: {why}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}
