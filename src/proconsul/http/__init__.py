"""The agent's own HTTP/1.1 server: requests, responses, routing and connections."""

from proconsul.http.request import App, AppKey, Request
from proconsul.http.response import Response, StreamResponse
from proconsul.http.router import Router
from proconsul.http.server import HttpServer

__all__ = ["App", "AppKey", "HttpServer", "Request", "Response", "Router", "StreamResponse"]
