"""`{% hole "name" key=value ... %}anonymous version{% endhole %}` (webtier/holes.py).

The arguments are resolved when the page renders and kept with it, so they must be
numbers or strings (a post's pk, its kind), never objects. Holes do not nest.
"""

from __future__ import annotations

from django import template

from webtier.holes import render_hole

register = template.Library()


class HoleNode(template.Node):
    def __init__(self, name, arguments, nodelist):
        self.name, self.arguments, self.nodelist = name, arguments, nodelist

    def render(self, context):
        name = self.name.resolve(context)
        arguments = {key: value.resolve(context) for key, value in self.arguments.items()}
        return render_hole(
            context.get("request"), name, arguments, lambda: self.nodelist.render(context)
        )


@register.tag
def hole(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError('{% hole %} needs a name: {% hole "name" %}')
    arguments = template.base.token_kwargs(bits[2:], parser, support_legacy=False)
    if len(arguments) != len(bits) - 2:
        raise template.TemplateSyntaxError("{% hole %} takes a name and key=value arguments")
    nodelist = parser.parse(("endhole",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(HoleNode):
        raise template.TemplateSyntaxError("holes do not nest")
    return HoleNode(parser.compile_filter(bits[1]), arguments, nodelist)
