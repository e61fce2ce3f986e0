"""Login throttling: too many failures for an email, or from an address, and `login` answers
LoginThrottled, checking no password, for known and unknown emails alike."""

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { __typename
    ... on LoginSuccess { token }
    ... on InvalidCredentials { message }
    ... on LoginThrottled { message retryAfterSeconds } } }"""
