//! The OpenAPI 3.1 document, built from the route table the router is built from.

use serde_json::{Map, Value, json};

use crate::api::ROUTES;

pub fn document() -> Value {
    let mut paths = Map::new();
    for d in ROUTES {
        let params: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            // `{*path}` (a route's rest) is the parameter `path`.
            .map(|name| name.trim_start_matches('*'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": d.summary,
            "tags": [d.tag],
            "operationId": format!("{}{}", d.method, d.path.replace(['/', '{', '}', '*'], "_")),
            "responses": {
                d.ok.to_string(): {"description": "成功 (success)"},
                "default": {"description": "错误 (error)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
            },
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(media) = d.body {
            op["requestBody"] = json!({"required": true, "content": {media: {"schema": {}}}});
        }
        if d.auth {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(format!("/api/v1{}", d.path.replace("{*", "{"))).or_insert_with(|| json!({}));
        entry[d.method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Shuqiao 数桥 API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "政务数据共享交换平台 — government data sharing and exchange platform",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    })
}
