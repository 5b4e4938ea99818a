"""OpenAPI extensions: how the schema describes the token authentication and the filters."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describe ``ApiTokenAuthentication`` as an API key in the Authorization header."""

    target_class = "cases.api.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token authentication: "Authorization: Token KEY". Keys are issued '
            "with `manage.py issue_token` and shown once.",
        }
