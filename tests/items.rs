//! The item catalogue over REST, on both backends.

#![cfg(all(feature = "sqlite", feature = "postgres"))]

mod common;

use common::api::{error_fields, status_and_json};
use common::{Backend, TestDb, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn started(backend: Backend) -> (TestDb, TestServer) {
    let db = TestDb::create(backend).await;
    let server = TestServer::start(&db).await;
    (db, server)
}

async fn items_crud_follows_ownership(backend: Backend) {
    let (_db, server) = started(backend).await;
    let owner = server.new_user("owner").await;
    let other = server.new_user("other").await;
    let admin = server.admin_token().await;
    let item = server
        .create_item(&owner, json!({"name": "Lamp", "description": "Desk lamp", "price": 19.99, "tax": 1.5, "category": "home"}))
        .await;
    let owner_id = server.get_as("/auth/me", &owner).await.1["id"].clone();
    assert_eq!(item["owner_id"], owner_id);
    assert_eq!(item["price"], json!(19.99));
    assert_eq!(item["tax"], json!(1.5));
    let id = item["id"].as_i64().unwrap();
    let path = format!("/api/v1/items/{id}");

    let (status, got) = server.get_as(&path, &other).await;
    assert_eq!((status, got["name"].as_str()), (200, Some("Lamp")));

    let put =
        |token: &str, body: Value| server.authed(Method::PUT, &path, token).json(&body).send();
    let (status, body) = status_and_json(put(&other, json!({"price": 1})).await.unwrap()).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = status_and_json(
        put(&owner, json!({"price": 24.5, "description": ""}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["price"], json!(24.5));
    assert_eq!(body["description"], Value::Null);
    assert_eq!(body["name"], "Lamp");
    let (status, _) =
        status_and_json(put(&admin, json!({"name": "Big lamp"})).await.unwrap()).await;
    assert_eq!(status, 200, "admins update anyone's items");

    let delete = |token: &str| server.authed(Method::DELETE, &path, token).send();
    assert_eq!(delete(&other).await.unwrap().status(), 403);
    assert_eq!(delete(&owner).await.unwrap().status(), 204);
    assert_eq!(server.get_as(&path, &owner).await.0, 404);
    assert_eq!(delete(&owner).await.unwrap().status(), 404);

    let second = server
        .create_item(&owner, json!({"name": "Chair", "price": 50}))
        .await;
    let path = format!("/api/v1/items/{}", second["id"]);
    let resp = server
        .authed(Method::DELETE, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "delete:items deletes anyone's");
    assert_eq!(server.get_as("/api/v1/items/abc", &owner).await.0, 400);
}

async fn invalid_items_list_every_bad_field(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("val").await;
    let resp = server
        .authed(Method::POST, "/api/v1/items", &token)
        .json(&json!({"name": "", "description": "x".repeat(501), "price": 1.234, "tax": -1, "category": "c".repeat(51)}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 422, "{body}");
    let fields = error_fields(&body);
    assert_eq!(fields, ["name", "description", "price", "tax", "category"]);
    for price in [json!(0), json!(-5), json!(1e13)] {
        let resp = server
            .authed(Method::POST, "/api/v1/items", &token)
            .json(&json!({"name": "x", "price": price}))
            .send()
            .await
            .unwrap();
        let (status, body) = status_and_json(resp).await;
        assert_eq!(status, 422, "{price}: {body}");
        assert_eq!(body["errors"][0]["field"], "price");
    }
    let resp = server
        .authed(Method::POST, "/api/v1/items", &token)
        .json(&json!({"name": "x", "price": "12"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "price", "{body}");
}

async fn prices_are_exact(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("cents").await;
    for price in [0.1, 0.2, 0.29, 1999.99] {
        let item = server
            .create_item(&token, json!({"name": format!("p{price}"), "price": price}))
            .await;
        assert_eq!(item["price"], json!(price));
    }
    let (_, page) = server
        .get_as(
            "/api/v1/items?min_price=0.1&max_price=0.29&sort=price",
            &token,
        )
        .await;
    let prices: Vec<f64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["price"].as_f64().unwrap())
        .collect();
    assert_eq!(prices, [0.1, 0.2, 0.29]);
    let (_, body) = server
        .execute(
            &token,
            "analyze_items",
            json!({"analysis_type": "price_distribution"}),
            None,
        )
        .await;
    let result = &body["result"]["result"];
    assert_eq!(result["min_price"], json!(0.1));
    assert_eq!(result["max_price"], json!(1999.99));
    // (10 + 20 + 29 + 199999) / 4 = 50014.5 cents, rounded to 50015.
    assert_eq!(result["average_price"], json!(500.15));
    let (_, body) = server
        .execute(
            &token,
            "search_items",
            json!({"query": "", "min_price": 0.3, "max_price": 0.3}),
            None,
        )
        .await;
    assert_eq!(
        body["result"]["total_found"], 0,
        "0.1 + 0.2 is not 0.3 only in floating point"
    );
}

async fn listing_filters_pages_and_sorts(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("lister").await;
    for (name, description, price, category) in [
        ("Red Apple", "crisp fruit", 1.5, "fruit"),
        ("Green apple", "sour", 1.2, "fruit"),
        ("Pineapple", "tropical", 3.0, "fruit"),
        ("Applesauce jar", "made of APPLES", 4.0, "pantry"),
        ("Banana", "yellow", 0.5, "fruit"),
        ("100% juice", "no sugar_added", 2.0, "drinks"),
    ] {
        server
            .create_item(&token, json!({"name": name, "description": description, "price": price, "category": category}))
            .await;
    }
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page) = server
        .get_as("/api/v1/items?q=APPLE&sort=name", &token)
        .await;
    assert_eq!(page["total"], 4);
    assert_eq!(
        names(&page),
        ["Applesauce jar", "Green apple", "Pineapple", "Red Apple"]
    );
    let (_, page) = server.get_as("/api/v1/items?q=pl&sort=name", &token).await;
    assert_eq!(page["total"], 4, "short queries match too: {page}");
    let (_, page) = server
        .get_as("/api/v1/items?q=apples&category=pantry", &token)
        .await;
    assert_eq!(
        names(&page),
        ["Applesauce jar"],
        "description matches, case-insensitive"
    );
    let (_, page) = server.get_as("/api/v1/items?q=%25", &token).await;
    assert_eq!(names(&page), ["100% juice"], "% is literal");
    let (_, page) = server.get_as("/api/v1/items?q=r_a", &token).await;
    assert_eq!(names(&page), ["100% juice"], "_ is literal");
    let (_, page) = server
        .get_as(
            "/api/v1/items?category=fruit&sort=-price&page=2&page_size=2",
            &token,
        )
        .await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["page"].as_i64(),
            page["page_size"].as_i64()
        ),
        (Some(4), Some(2), Some(2))
    );
    assert_eq!(names(&page), ["Green apple", "Banana"]);
    let (_, page) = server.get_as("/api/v1/items", &token).await;
    assert_eq!(names(&page)[0], "100% juice", "newest first by default");

    for bad in [
        "page_size=101",
        "page_size=0",
        "page=0",
        "sort=owner",
        "min_price=-1",
        "min_price=0.001",
    ] {
        let (status, body) = server.get_as(&format!("/api/v1/items?{bad}"), &token).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["code"], "validation_error");
    }
    let (status, _) = server.get_as("/api/v1/items?page=x", &token).await;
    assert_eq!(status, 400);
}

async fn item_permissions_follow_roles(backend: Backend) {
    let (db, server) = started(backend).await;
    let writer = server.new_user("writer").await;
    let item = server
        .create_item(&writer, json!({"name": "Thing", "price": 2}))
        .await;
    for (name, role) in [("reader", "readonly"), ("checker", "auditor")] {
        server.new_user(name).await;
        assert!(db.cli(&["users", "set-role", name, role]).status.success());
    }
    let reader = server.token("reader", "password-reader").await;
    let checker = server.token("checker", "password-checker").await;
    assert_eq!(server.get_as("/api/v1/items", &reader).await.0, 200);
    assert_eq!(
        server
            .get_as(&format!("/api/v1/items/{}", item["id"]), &reader)
            .await
            .0,
        200
    );
    let resp = server
        .authed(Method::POST, "/api/v1/items", &reader)
        .json(&json!({"name": "Nope", "price": 1}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 403);
    assert!(body["detail"].as_str().unwrap().contains("write:items"));
    let (status, body) = server.get_as("/api/v1/items", &checker).await;
    assert_eq!(status, 403, "auditors cannot read items: {body}");
    assert_eq!(server.get("/api/v1/items").await.status(), 401);
}

/// Totals are remembered per catalogue version: every insert, update and
/// delete must make the next listing count again, and past the last page
/// the total is still right.
async fn listing_totals_follow_every_change(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("counter").await;
    let total = |path: &'static str| {
        let (server, token) = (&server, &token);
        async move {
            let (status, page) = server.get_as(path, token).await;
            assert_eq!(status, 200, "{page}");
            page["total"].as_i64().unwrap()
        }
    };
    let search = "/api/v1/items?q=lantern";
    let everything = "/api/v1/items";
    let before = total(everything).await;
    assert_eq!(total(search).await, 0);
    let first = server
        .create_item(&token, json!({"name": "Storm lantern", "price": 10}))
        .await;
    assert_eq!(total(search).await, 1, "an insert");
    assert_eq!(total(everything).await, before + 1);
    let second = server
        .create_item(
            &token,
            json!({"name": "Desk lamp", "description": "a lantern of sorts", "price": 12}),
        )
        .await;
    assert_eq!(total(search).await, 2);
    assert_eq!(total(search).await, 2, "asked again, unchanged");
    let id = first["id"].as_i64().unwrap();
    let resp = server
        .authed(Method::PUT, &format!("/api/v1/items/{id}"), &token)
        .json(&json!({"name": "Storm lamp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(total(search).await, 1, "an update that stops matching");
    let (_, page) = server
        .get_as("/api/v1/items?q=lantern&page=50", &token)
        .await;
    assert_eq!(
        (
            page["items"].as_array().unwrap().len(),
            page["total"].as_i64()
        ),
        (0, Some(1)),
        "past the last page"
    );
    let id = second["id"].as_i64().unwrap();
    let resp = server
        .authed(Method::DELETE, &format!("/api/v1/items/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(total(everything).await, before + 1, "a delete");
    assert_eq!(total(search).await, 0);
}

/// Search is a case-insensitive substring match of the name or the
/// description, whatever the index does underneath: every query here is
/// checked against that plain rule over a catalogue of awkward texts
/// (repeats, overlaps, spaces, quotes, wildcards, accents, no description).
async fn search_is_a_plain_substring_match(backend: Backend) {
    let (_db, server) = started(backend).await;
    let token = server.new_user("searcher").await;
    let texts: [(&str, Option<&str>); 16] = [
        ("Notebook", Some("A wireless notebook for travel")),
        ("Note book", None),
        ("notebooks, five", Some("NOTEBOOKNOTEBOOK")),
        ("aaaaaaa", Some("aa aa aaa")),
        ("abababab", Some("ba ab ba")),
        ("snake_case_name", Some("100% cotton, 50_50 blend")),
        ("say \"hi\" twice", Some("quotes \"\" and ''")),
        ("École des Arts", Some("crème brûlée à la carte")),
        ("ÉCOLE normale", Some("Straße 7")),
        ("x", Some("y")),
        ("Tab\there", Some("two  spaces")),
        ("Keyboard", Some("A keyboard, ergonomic")),
        ("keyb oard", Some("key board")),
        ("underscore _ alone", Some("_u_s chunk-like text _s_u")),
        ("end", Some("the end")),
        ("Lamp", Some("lamp lamp lamp lamp")),
    ];
    let mut items = Vec::new();
    for (name, description) in texts {
        let item = server
            .create_item(
                &token,
                json!({"name": name, "description": description, "price": 1}),
            )
            .await;
        items.push((item["id"].as_i64().unwrap(), name, description));
    }
    let fold = |text: &str| text.to_lowercase();
    let mut queries: Vec<String> = Vec::new();
    for (_, name, description) in &items {
        for text in [Some(*name), *description].into_iter().flatten() {
            let chars: Vec<char> = text.chars().collect();
            for len in 1..=chars.len().min(10) {
                for start in (0..=chars.len() - len).step_by(3) {
                    // The API trims the query, as it trims names.
                    let piece: String = chars[start..start + len].iter().collect();
                    let piece = piece.trim();
                    if piece.is_empty() {
                        continue;
                    }
                    queries.push(piece.to_owned());
                    // On SQLite, queries under three characters are matched
                    // with LIKE, which folds ASCII letters only.
                    if piece.chars().count() >= 3 || piece.is_ascii() {
                        queries.push(piece.to_uppercase());
                    }
                }
            }
        }
        // Across the name's end and the description's start: never a match.
        if let Some(description) = description {
            let last = name.chars().last().unwrap();
            let first = description.chars().next().unwrap();
            queries.push(format!("{last}{first}"));
        }
    }
    queries.extend(
        [
            "noteboo",
            "otebook",
            "notebok",
            "note  book",
            "oteb",
            "abba",
            "aab",
            "_s",
            "_u",
            "_",
            "%",
            "\"",
            "\"\"",
            "brûlée à",
            "BRÛLÉE",
            "straße",
            "keyboard",
            "key board",
            "eyboar",
            "aaaaaaaa",
            "ababababa",
            "t\th",
        ]
        .map(String::from),
    );
    queries.sort();
    queries.dedup();
    for query in &queries {
        let expected: Vec<i64> = items
            .iter()
            .rev()
            .filter(|(_, name, description)| {
                let query = fold(query);
                fold(name).contains(&query) || description.is_some_and(|d| fold(d).contains(&query))
            })
            .map(|(id, _, _)| *id)
            .collect();
        let mut url = reqwest::Url::parse(&server.url("/api/v1/items")).unwrap();
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("page_size", "100");
        let resp = server
            .http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        let (status, page) = status_and_json(resp).await;
        assert_eq!(status, 200, "{query:?}: {page}");
        let got: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, expected, "items matching {query:?}");
        assert_eq!(page["total"], json!(expected.len()), "total for {query:?}");
    }
    assert!(queries.len() > 500, "{} queries", queries.len());
}

on_both_backends!(
    listing_totals_follow_every_change,
    search_is_a_plain_substring_match,
    items_crud_follows_ownership,
    invalid_items_list_every_bad_field,
    prices_are_exact,
    listing_filters_pages_and_sorts,
    item_permissions_follow_roles,
);
