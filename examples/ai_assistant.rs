//! The tutorial's "AI assistant workflow" client, in Rust: authenticate with
//! an API key, open a session, list the tools, then create, search and
//! analyse items through `/api/v1/mcp/execute`, and close the session.
//!
//! ```sh
//! KEY=$(aiapi api-keys create ai_agent --name assistant)   # prints the key once
//! AIAPI_API_KEY="$KEY" cargo run -q --example ai_assistant -- http://127.0.0.1:8000
//! ```

use serde_json::{Value, json};

/// A small client of the REST tool facade.
pub struct McpClient {
    base: String,
    http: reqwest::Client,
    api_key: String,
    session_id: Option<String>,
}

impl McpClient {
    /// A client for the service at `base`, authenticating with `api_key`.
    pub fn new(base: &str, api_key: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            api_key: api_key.to_owned(),
            session_id: None,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request
            .header("X-API-Key", &self.api_key)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{status}: {}", body["detail"]))
        }
    }

    /// Opens a session; later calls are counted in it.
    pub async fn create_session(&mut self) -> Result<String, String> {
        let body = self
            .send(self.http.post(format!("{}/api/v1/mcp/session", self.base)))
            .await?;
        let id = body["session_id"]
            .as_str()
            .ok_or("no session_id")?
            .to_owned();
        self.session_id = Some(id.clone());
        Ok(id)
    }

    /// Closes the session, if one is open.
    pub async fn close_session(&mut self) -> Result<(), String> {
        if let Some(id) = self.session_id.take() {
            self.send(
                self.http
                    .delete(format!("{}/api/v1/mcp/session/{id}", self.base)),
            )
            .await?;
        }
        Ok(())
    }

    /// The tools this key may use.
    pub async fn list_tools(&self) -> Result<Vec<Value>, String> {
        let body = self
            .send(self.http.get(format!("{}/api/v1/mcp/tools", self.base)))
            .await?;
        Ok(body["tools"].as_array().cloned().unwrap_or_default())
    }

    /// Runs a tool in the session.
    pub async fn execute_tool(&self, tool_name: &str, parameters: Value) -> Result<Value, String> {
        let payload = json!({"tool_name": tool_name, "parameters": parameters, "session_id": self.session_id});
        self.send(
            self.http
                .post(format!("{}/api/v1/mcp/execute", self.base))
                .json(&payload),
        )
        .await
    }

    /// The tutorial's assistant: picks a tool from the request's words.
    pub async fn ai_assistant_workflow(&self, user_request: &str) -> Result<String, String> {
        let request = user_request.to_lowercase();
        if request.contains("create") {
            let result = self
                .execute_tool(
                    "create_item",
                    json!({"name": "AI recommended item", "description": "AI generated item based on user request",
                           "price": 100000, "category": "ai_recommended"}),
                )
                .await?;
            return Ok(match result["success"].as_bool() {
                Some(true) => format!(
                    "created '{}'",
                    result["result"]["item"]["name"].as_str().unwrap_or("?")
                ),
                _ => format!("item creation failed: {}", result["error"]),
            });
        }
        if request.contains("search") || request.contains("find") {
            let result = self
                .execute_tool("search_items", json!({"query": "item", "limit": 5}))
                .await?;
            let items = result["result"]["items"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let lines: Vec<String> = items
                .iter()
                .map(|i| format!("- {} ({})", i["name"].as_str().unwrap_or("?"), i["price"]))
                .collect();
            return Ok(format!(
                "search results ({} items):\n{}",
                items.len(),
                lines.join("\n")
            ));
        }
        if request.contains("analy") {
            let result = self
                .execute_tool(
                    "analyze_items",
                    json!({"analysis_type": "price_distribution"}),
                )
                .await?;
            let analysis = &result["result"]["result"];
            return Ok(format!(
                "price analysis: average {}, minimum {}, maximum {}",
                analysis["average_price"], analysis["min_price"], analysis["max_price"]
            ));
        }
        Ok("Sorry, I couldn't find a tool to handle that request.".into())
    }
}

/// Lists the tools, then runs the three requests of the tutorial.
pub async fn run(base: &str, api_key: &str) -> Result<Vec<String>, String> {
    let mut client = McpClient::new(base, api_key);
    let tools = client.list_tools().await?;
    let mut transcript = vec![format!("available tools: {}", tools.len())];
    client.create_session().await?;
    for request in [
        "Create a new item",
        "Search for items",
        "Analyze price distribution",
    ] {
        let answer = client.ai_assistant_workflow(request).await?;
        transcript.push(format!("{request} -> {answer}"));
    }
    client.close_session().await?;
    Ok(transcript)
}

#[tokio::main]
async fn main() {
    // The key comes from the environment: an argument would be echoed in
    // `cargo run`'s "Running ..." line and kept in the shell's history.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (base, key) = match args.as_slice() {
        [base] => (base.clone(), std::env::var("AIAPI_API_KEY").ok()),
        [base, flag, key] if flag == "--key" => (base.clone(), Some(key.clone())),
        _ => (String::new(), None),
    };
    let Some(key) = key.filter(|k| !base.is_empty() && !k.is_empty()) else {
        eprintln!(
            "usage: AIAPI_API_KEY=aiapi_... ai_assistant <base-url>\n   or: ai_assistant <base-url> --key <api-key>"
        );
        std::process::exit(2);
    };
    match run(&base, &key).await {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
