"""Article.body_html, Article.reading_time_minutes and Comment.body_html: the Markdown rendered
and sanitized when it is written (resources/markdown.py), and the minutes an article takes to
read. Rows written before this migration are rendered here, in batches, with the renderer of
the code being migrated.

On SQLite the columns are added in place (ALTER TABLE ADD COLUMN, with their default), not by
Django's usual rebuild of the table, which would drop the triggers of migrations 0004-0005.
"""

from django.db import migrations, models

BATCH = 2000

NEW_FIELDS = [
    ("article", "body_html", models.TextField(default="", editable=False)),
    ("article", "reading_time_minutes", models.PositiveIntegerField(default=1, editable=False)),
    ("comment", "body_html", models.TextField(default="", editable=False)),
]


def add_columns(apps, schema_editor):
    for model_name, name, _ in NEW_FIELDS:
        model = apps.get_model("resources", model_name)
        field = model._meta.get_field(name)
        if schema_editor.connection.vendor != "sqlite":
            schema_editor.add_field(model, field)
            continue
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        table = schema_editor.quote_name(model._meta.db_table)
        column = schema_editor.quote_name(field.column)
        schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}", params)


def remove_columns(apps, schema_editor):
    for model_name, name, _ in NEW_FIELDS:
        model = apps.get_model("resources", model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        column = schema_editor.quote_name(model._meta.get_field(name).column)
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def render_existing(apps, schema_editor):
    from resources.markdown import markdown_render, reading_time_minutes

    def render(model, fields, fill):
        rows = model.objects.using(schema_editor.connection.alias).order_by("pk")
        last = 0
        while batch := list(rows.filter(pk__gt=last).only("pk", "body")[:BATCH]):
            for row in batch:
                fill(row)
            model.objects.bulk_update(batch, fields)
            last = batch[-1].pk

    def article(row):
        row.body_html = markdown_render(row.body)
        row.reading_time_minutes = reading_time_minutes(row.body)

    def comment(row):
        row.body_html = markdown_render(row.body)

    render(apps.get_model("resources", "Article"), ["body_html", "reading_time_minutes"], article)
    render(apps.get_model("resources", "Comment"), ["body_html"], comment)


class Migration(migrations.Migration):

    dependencies = [
        ('resources', '0005_search'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(model_name=model, name=name, field=field)
                for model, name, field in NEW_FIELDS
            ],
        ),
        migrations.RunPython(add_columns, remove_columns),
        migrations.RunPython(render_existing, migrations.RunPython.noop),
    ]
