"""store-cloner's domain: the Ecwid Clone API client, its errors, the polling
policy, and the DynamoDB stores of jobs and mappings."""
