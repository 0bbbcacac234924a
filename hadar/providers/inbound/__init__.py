"""Pure parsers of what providers POST to Hadar: Meta webhooks, UltraMsg webhooks, Vapi server
messages, Stripe events. Each takes the raw bytes (after the signature check) or the decoded
JSON, never raises on an unexpected shape, and returns what it understood plus, in `unknown`,
a short note for each part it did not. No httpx, Starlette or Redis here: services import them.
"""
