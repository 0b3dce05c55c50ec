//! The benchmark ceiling: the smallest poem server there is, built with the
//! same poem, tokio and release profile as `aiapi`, so `make bench` can say
//! how close each scenario comes to it. Serves `GET /` on the address given
//! as the first argument (default 127.0.0.1:8999) and prints
//! `listening on http://ADDR` once bound.

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Route, Server, get, handler};

#[handler]
fn hello() -> &'static str {
    "Hello, World!"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8999".into());
    let acceptor = TcpListener::bind(addr).into_acceptor().await?;
    if let Some(local) = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr())
    {
        println!("listening on http://{local}");
    }
    Server::new_with_acceptor(acceptor)
        .run(Route::new().at("/", get(hello)))
        .await
}
