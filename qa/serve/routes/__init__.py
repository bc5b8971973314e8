"""One `APIRouter` module per resource of the HTTP API."""
