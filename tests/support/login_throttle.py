"""Login throttling: what its tests share (the whole story: tests/api/test_login_throttle.py)."""

LOGIN = """mutation($email: String!, $password: String!) {
  login(input: { email: $email, password: $password }) { __typename
    ... on LoginSuccess { token }
    ... on InvalidCredentials { message }
    ... on LoginThrottled { message retryAfterSeconds } } }"""
