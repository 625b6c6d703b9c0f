"""The WordPress REST API (`/wp-json/`): what WordPress's clients speak, on cloudblog's content.

Reads use blog's query sets; every write goes through blog's and media_library's services,
so a request here meets exactly the rules of the admin. README, "API", says what is
compatible and what is not.
"""
