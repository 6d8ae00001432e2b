"""The moves' HTML forms, built from their declaration (parts.moves): the part page's and the admin's."""

from django import forms

from parts.moves import Person, Text
from parts.permissions import assignable_people


def _text_field(text, by_username):
    widget = forms.Textarea(attrs={"rows": 2}) if text.multiline else forms.TextInput
    field = forms.CharField(label=text.label, required=text.required, max_length=text.max_length, widget=widget)
    if text.placeholder:
        field.widget.attrs["placeholder"] = text.placeholder
    return field


def _person_field(person, by_username):
    return forms.ModelChoiceField(
        assignable_people(), label=person.label, empty_label="Choose…",
        to_field_name="username" if by_username else None,
    )


# How a form asks for each kind of field.
MOVE_FORM_FIELDS = {Text: _text_field, Person: _person_field}


class MoveForm(forms.Form):
    """The fields a move takes.

    With a part, it is the part page's form: filled in with the part's values where the move
    says so, with the move's confirmation when it applies, and people named by username as
    in the API (the page sends what it shows to the same checks as the API, parts.views).
    Without one it is the admin's, for many parts at once, people named by id."""

    def __init__(self, spec, *, part=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(**kwargs)
        for field in spec.fields:
            self.fields[field.name] = MOVE_FORM_FIELDS[type(field)](field, by_username=part is not None)
            if part is not None and field.prefill:
                self.initial[field.name] = getattr(part, field.name)
        confirmation = spec.confirmation
        if part is not None and confirmation and confirmation.applies(part):
            self.fields[confirmation.name] = forms.BooleanField(label=confirmation.label.format(part=part))
