"""HTTP/JSON ⇄ gRPC transcoding per google/api/http.proto."""
