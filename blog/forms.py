from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

HONEYPOT_FIELD = "homepage"
# Who is commenting: asked of anonymous visitors only (a signed-in one is their account).
IDENTITY_FIELDS = ("name", "email", "url")


class CommentForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(max_length=254, required=False, help_text="Never shown on the site.")
    url = forms.URLField(max_length=300, required=False, label="Website", assume_scheme="https")
    body = forms.CharField(
        label="Comment",
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Allowed: <a> <b> <i> <em> <strong> <code> <blockquote> <q> <del> <abbr> <cite>",
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    # Humans never see this field (hidden by CSS and aria-hidden); bots fill it in.
    homepage = forms.CharField(
        required=False,
        label="Leave this field empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user is None or not user.is_authenticated:
            self.fields["name"].required = True
            self.fields["email"].required = True
        else:
            for name in IDENTITY_FIELDS:
                del self.fields[name]

    def identity_fields(self) -> list:
        return [self[name] for name in IDENTITY_FIELDS if name in self.fields]

    def message_fields(self) -> list:
        return [field for field in self.visible_fields() if field.name not in IDENTITY_FIELDS]

    def honeypot(self) -> str:
        """What was typed in the field humans never see (bots fill it in)."""
        return self.data.get(HONEYPOT_FIELD, "")

    def submission(self) -> dict:
        """The cleaned fields as comment_submit takes them."""
        data = self.cleaned_data
        return {
            "body": data["body"],
            "name": data.get("name", ""),
            "email": data.get("email", ""),
            "url": data.get("url", ""),
            "parent_id": data.get("parent"),
        }


class PostPasswordForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, max_length=100)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["first_name", "last_name", "email"]


class SearchForm(forms.Form):
    # No max_length: a longer query is cut to its first words (blog.searchtext), not refused.
    q = forms.CharField(label="Search", required=False)
