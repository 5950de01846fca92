/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gtksourceview/gtksource.h>
#include <adwaita.h>
#include <string.h>

#include "aic-culling-box.h"
#include "aic-markdown-view.h"
#include "aic-ui-test-util.h"

/* AicMarkdownView: what widgets Markdown becomes, that streaming it piece
 * by piece ends where setting it whole does, and that the work per piece
 * does not grow with the message. */

/* The view's blocks in order: its box holds groups of blocks (see
 * BLOCKS_PER_GROUP in aic-markdown-view.c). */
static GPtrArray *
blocks (GtkWidget *view)
{
  GPtrArray *out = g_ptr_array_new ();
  GtkWidget *box = gtk_widget_get_first_child (view);

  for (GtkWidget *group = gtk_widget_get_first_child (box); group; group = gtk_widget_get_next_sibling (group))
    {
      g_assert_true (GTK_IS_BOX (group));
      g_assert_nonnull (gtk_widget_get_first_child (group));
      for (GtkWidget *child = gtk_widget_get_first_child (group); child; child = gtk_widget_get_next_sibling (child))
        g_ptr_array_add (out, child);
    }
  return out;
}

static GtkWidget *
last_block (GtkWidget *view)
{
  g_autoptr(GPtrArray) all = blocks (view);

  return all->len > 0 ? g_ptr_array_index (all, all->len - 1) : NULL;
}

static char *
describe (AicMarkdownView *view)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GPtrArray) all = blocks (GTK_WIDGET (view));

  for (guint i = 0; i < all->len; i++)
    {
      GtkWidget *child = g_ptr_array_index (all, i);

      if (GTK_IS_LABEL (child))
        g_string_append_printf (out, "[label %s]", gtk_label_get_text (GTK_LABEL (child)));
      else if (GTK_IS_FRAME (child))
        {
          GtkWidget *overlay = gtk_frame_get_child (GTK_FRAME (child));
          GtkWidget *source = gtk_overlay_get_child (GTK_OVERLAY (overlay));
          GtkTextBuffer *buffer = gtk_text_view_get_buffer (GTK_TEXT_VIEW (source));
          GtkSourceLanguage *language = gtk_source_buffer_get_language (GTK_SOURCE_BUFFER (buffer));
          GtkTextIter start, end;
          g_autofree char *text = NULL;

          gtk_text_buffer_get_bounds (buffer, &start, &end);
          text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
          g_string_append_printf (out, "[code %s|%s]", language ? gtk_source_language_get_id (language) : "-", text);
        }
      else if (GTK_IS_BOX (child) && GTK_IS_LABEL (gtk_widget_get_first_child (child)))
        {
          /* A list item: its marker, then its text. */
          GtkWidget *marker = gtk_widget_get_first_child (child);
          GtkWidget *text = gtk_widget_get_next_sibling (marker);

          g_string_append_printf (out, "[item %s|%s]", gtk_label_get_text (GTK_LABEL (marker)),
                                  gtk_label_get_text (GTK_LABEL (text)));
        }
      else
        g_string_append_printf (out, "[%s]", G_OBJECT_TYPE_NAME (child));
    }
  return g_string_free (out, FALSE);
}

static const char *sample =
  "# Title\n"
  "\n"
  "Some *emphasis*, **bold**, `code` and a [link](https://gnome.org). <b>&amp;</b>\n"
  "still the same paragraph.\n"
  "\n"
  "- one\n"
  "- two\n"
  "\n"
  "1. first\n"
  "2. second\n"
  "\n"
  "```python\n"
  "def f():\n"
  "\n"
  "    return 1\n"
  "```\n"
  "After the code.\n"
  "\n"
  "---\n"
  "\n"
  "> quoted\n";

static const char *expected =
  "[label Title]"
  "[label Some emphasis, bold, code and a link. <b>&</b> still the same paragraph.]"
  "[item •|one][item •|two]"
  "[item 1.|first][item 2.|second]"
  "[code python3|def f():\n\n    return 1\n]"
  "[label After the code.]"
  "[GtkSeparator]"
  "[label quoted]";

static void
test_render (void)
{
  GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
  g_autofree char *got = NULL;

  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (view), sample);
  got = describe (AIC_MARKDOWN_VIEW (view));
  g_assert_cmpstr (got, ==, expected);
  g_object_unref (view);
}

/* A list item's text hangs after its marker: a second paragraph of the
 * item starts where the first one's text does, not under the marker. */
static void
test_hanging_indent (void)
{
  GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
  GtkWidget *item, *marker, *more;

  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (view), "- first line of an item\n\n  its second paragraph\n\nAfter the list.\n");
  {
    g_autoptr(GPtrArray) all = blocks (view);

    item = g_ptr_array_index (all, 0);
  }
  g_assert_true (GTK_IS_BOX (item));
  marker = gtk_widget_get_first_child (item);
  more = gtk_widget_get_next_sibling (item);
  g_assert_true (GTK_IS_LABEL (more));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (more)), ==, "its second paragraph");
  {
    int marker_width;

    gtk_widget_get_size_request (marker, &marker_width, NULL);
    g_assert_cmpint (gtk_widget_get_margin_start (more), ==,
                     gtk_widget_get_margin_start (item) + marker_width + gtk_box_get_spacing (GTK_BOX (item)));
  }
  g_object_unref (view);
}

/* Fed in pieces of every size, flushed after each as frames would: the
 * same widgets as when set whole. */
static void
test_streaming_matches (void)
{
  gsize len = strlen (sample);

  for (gsize piece = 1; piece <= 17; piece += 4)
    {
      GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
      g_autofree char *got = NULL;

      for (gsize pos = 0; pos < len; pos += piece)
        {
          g_autofree char *part = g_strndup (sample + pos, MIN (piece, len - pos));

          aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), part);
          aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
        }
      got = describe (AIC_MARKDOWN_VIEW (view));
      g_test_message ("pieces of %zu", piece);
      g_assert_cmpstr (got, ==, expected);
      g_object_unref (view);
    }
}

/* A long reply's blocks are kept in groups of at most 32 (the box of a
 * group is laid out again only when one of its blocks changes), in order,
 * with no group left empty: also when the open blocks at the end, which
 * are replaced as more of them arrives, straddle two groups. Streamed in
 * pieces, it ends as when set whole. */
static void
test_groups (void)
{
  GString *text = g_string_new (NULL);
  GtkWidget *whole = g_object_ref_sink (aic_markdown_view_new ());
  GtkWidget *streamed = g_object_ref_sink (aic_markdown_view_new ());
  GtkWidget *box = gtk_widget_get_first_child (streamed);
  g_autofree char *want = NULL;
  g_autofree char *got = NULL;
  guint n_groups = 0;

  /* 31 paragraphs, then a list whose items are the 32nd to 34th blocks:
   * while it arrives, the open list's items are replaced with each piece,
   * first within the first group, then across its end. Then more
   * paragraphs. */
  for (guint i = 0; i < 31; i++)
    g_string_append_printf (text, "Paragraph %u.\n\n", i);
  g_string_append (text, "- one\n- two\n- three\n\n");
  for (guint i = 31; i < 100; i++)
    g_string_append_printf (text, "Paragraph %u with **bold**.\n\n", i);

  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (whole), text->str);
  want = describe (AIC_MARKDOWN_VIEW (whole));
  for (gsize pos = 0; pos < text->len; pos += 3)
    {
      g_autofree char *part = g_strndup (text->str + pos, MIN (3, text->len - pos));

      aic_markdown_view_append (AIC_MARKDOWN_VIEW (streamed), part);
      aic_markdown_view_flush (AIC_MARKDOWN_VIEW (streamed));
      g_free (describe (AIC_MARKDOWN_VIEW (streamed)));   /* no empty group on the way */
    }
  got = describe (AIC_MARKDOWN_VIEW (streamed));
  g_assert_cmpstr (got, ==, want);

  for (GtkWidget *group = gtk_widget_get_first_child (box); group; group = gtk_widget_get_next_sibling (group))
    {
      guint n = 0;

      for (GtkWidget *child = gtk_widget_get_first_child (group); child; child = gtk_widget_get_next_sibling (child))
        n++;
      g_assert_cmpuint (n, <=, 32);
      /* Every group but the last is full. */
      if (gtk_widget_get_next_sibling (group) != NULL)
        g_assert_cmpuint (n, ==, 32);
      n_groups++;
    }
  /* 31 paragraphs, 3 list items, 69 paragraphs: 103 blocks. */
  g_assert_cmpuint (n_groups, ==, 4);

  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (streamed), "");
  g_assert_null (gtk_widget_get_first_child (box));
  g_string_free (text, TRUE);
  g_object_unref (whole);
  g_object_unref (streamed);
}

/* A code block that streamed in line by line stays the same widget when
 * its fence closes (it is not made a second time by the parser), and
 * ends up as the parser would have made it. */
static void
test_code_block_kept (void)
{
  GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
  GtkWidget *open_block;
  g_autofree char *got = NULL;
  const char *parts[] = { "Before.\n\n", "```c\n", "int a;\n", "int b;\n", "```\n", "\n" };

  for (guint i = 0; i < 4; i++)
    {
      aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), parts[i]);
      aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
    }
  open_block = last_block (view);
  g_assert_true (GTK_IS_FRAME (open_block));
  /* The last line and the closing fence in one piece, then a blank line. */
  aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), "int c;\n```\n");
  aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
  aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), "\nAfter.");
  aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
  got = describe (AIC_MARKDOWN_VIEW (view));
  g_assert_cmpstr (got, ==, "[label Before.][code c|int a;\nint b;\nint c;\n][label After.]");
  g_assert_true (gtk_widget_get_prev_sibling (last_block (view)) == open_block);
  g_assert_cmpuint (aic_markdown_view_get_n_blocks (AIC_MARKDOWN_VIEW (view)), ==, 2);
  g_object_unref (view);
}

static gsize
stream_reply (guint  paragraphs,
              gsize *out_len)
{
  GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
  gsize parsed, len = 0;

  for (guint p = 0; p < paragraphs; p++)
    {
      for (guint w = 0; w < 40; w++)
        {
          const char *word = w == 39 ? " end.\n\n" : " word";

          aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), word);
          aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
          len += strlen (word);
        }
      if (p % 10 == 5)
        {
          /* and a code block now and then, streamed line by line */
          const char *code[] = { "```c\n", "int a;\n", "int b;\n", "int c;\n", "```\n", "\n" };

          for (guint i = 0; i < G_N_ELEMENTS (code); i++)
            {
              aic_markdown_view_append (AIC_MARKDOWN_VIEW (view), code[i]);
              aic_markdown_view_flush (AIC_MARKDOWN_VIEW (view));
              len += strlen (code[i]);
            }
        }
    }
  parsed = aic_markdown_view_get_parsed_bytes (AIC_MARKDOWN_VIEW (view));
  g_object_unref (view);
  *out_len = len;
  return parsed;
}

/* The work per byte is the same for a short and a ten times longer reply:
 * no re-render of the whole message per token. */
static void
test_cost_does_not_grow (void)
{
  gsize short_len, long_len;
  gsize short_parsed = stream_reply (20, &short_len);
  gsize long_parsed = stream_reply (200, &long_len);
  double short_ratio = (double) short_parsed / short_len;
  double long_ratio = (double) long_parsed / long_len;

  g_test_message ("parsed per byte: %.2f (20 paragraphs), %.2f (200 paragraphs)", short_ratio, long_ratio);
  g_assert_cmpfloat (long_ratio, <, short_ratio * 1.2);
  /* About half a paragraph re-parsed per token: bounded by the paragraph. */
  g_assert_cmpfloat (long_ratio, <, 40);
}

/* A paragraph asks for a few characters' width at the least, and its
 * narrowest size is measured at that width: with none, GtkLabel lays the
 * text out at width zero, one character a line, which cost ten times a
 * layout at a real width and was most of a streamed frame's layout
 * (aic_label_wrap_prose). A table's cells ask for less, so a wide table
 * still fits a narrow window. */
static void
test_narrowest (void)
{
  GtkWidget *view = g_object_ref_sink (aic_markdown_view_new ());
  g_autoptr(GString) text = g_string_new (NULL);
  GtkWidget *paragraph, *table, *cell;
  int para_min, para_nat, cell_min, cell_nat, para_height, line_height;

  for (guint i = 0; i < 240; i++)
    g_string_append (text, i % 5 == 4 ? "words. " : "word ");
  g_string_append (text, "\n\n| a | b | c |\n|---|---|---|\n| x | y | z |\n");
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (view), text->str);
  {
    g_autoptr(GPtrArray) all = blocks (view);

    g_assert_cmpuint (all->len, ==, 2);
    paragraph = g_ptr_array_index (all, 0);
    table = g_ptr_array_index (all, 1);
  }
  g_assert_true (GTK_IS_LABEL (paragraph));
  g_assert_true (GTK_IS_GRID (table));
  cell = gtk_grid_get_child_at (GTK_GRID (table), 0, 1);
  g_assert_true (GTK_IS_LABEL (cell));

  gtk_widget_measure (paragraph, GTK_ORIENTATION_HORIZONTAL, -1, &para_min, &para_nat, NULL, NULL);
  gtk_widget_measure (cell, GTK_ORIENTATION_HORIZONTAL, -1, &cell_min, &cell_nat, NULL, NULL);
  g_test_message ("narrowest: paragraph %d px (widest %d px), cell %d px", para_min, para_nat, cell_min);
  g_assert_cmpint (gtk_label_get_width_chars (GTK_LABEL (paragraph)), >, 0);
  g_assert_cmpint (para_min, >=, 4 * cell_min);
  g_assert_cmpint (para_min, <, 240);
  g_assert_cmpint (para_nat, >, 10 * para_min);
  g_assert_cmpint (cell_min, >, 0);
  g_assert_cmpint (cell_min, <, 30);
  /* At its narrowest the paragraph wraps onto many lines, at its widest
   * it is one. */
  gtk_widget_measure (paragraph, GTK_ORIENTATION_VERTICAL, para_min, &para_height, NULL, NULL, NULL);
  gtk_widget_measure (paragraph, GTK_ORIENTATION_VERTICAL, para_nat, &line_height, NULL, NULL, NULL);
  g_assert_cmpint (para_height, >, 20 * line_height);
  g_object_unref (view);
}

/* Links in a model's answer: web and mail open, anything that could
 * start a program or open a file is asked about (issue 12, item 7). */
static void
test_link_policy (void)
{
  g_assert_cmpint (aic_link_policy ("https://gnome.org/"), ==, AIC_LINK_POLICY_OPEN);
  g_assert_cmpint (aic_link_policy ("HTTP://example.com"), ==, AIC_LINK_POLICY_OPEN);
  g_assert_cmpint (aic_link_policy ("mailto:someone@example.com"), ==, AIC_LINK_POLICY_OPEN);
  g_assert_cmpint (aic_link_policy ("file:///etc/passwd"), ==, AIC_LINK_POLICY_ASK);
  g_assert_cmpint (aic_link_policy ("javascript:alert(1)"), ==, AIC_LINK_POLICY_ASK);
  g_assert_cmpint (aic_link_policy ("ssh://host/"), ==, AIC_LINK_POLICY_ASK);
  g_assert_cmpint (aic_link_policy ("steam://run/1"), ==, AIC_LINK_POLICY_ASK);
  g_assert_cmpint (aic_link_policy ("notes.md"), ==, AIC_LINK_POLICY_REFUSE);
  g_assert_cmpint (aic_link_policy ("/etc/passwd"), ==, AIC_LINK_POLICY_REFUSE);
}

static GtkLabel *
first_label (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget))
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *label = first_label (child);

      if (label != NULL)
        return label;
    }
  return NULL;
}

static AdwMessageDialog *
find_dialog (GtkWindow *parent)
{
  g_autoptr(GList) windows = NULL;

  for (guint i = 0; i < 50; i++)
    g_main_context_iteration (NULL, FALSE);
  windows = gtk_window_list_toplevels ();
  for (GList *l = windows; l; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) && gtk_window_get_transient_for (l->data) == parent)
      return l->data;
  return NULL;
}

static void
test_link_asks (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = aic_markdown_view_new ();
  AdwMessageDialog *dialog;
  gboolean handled = FALSE;
  GtkLabel *label;

  gtk_window_set_child (GTK_WINDOW (window), view);
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (view), "See [the file](file:///etc/passwd).");
  gtk_window_present (GTK_WINDOW (window));
  label = first_label (view);
  g_assert_nonnull (label);

  /* A file link is not opened: the user is asked, Cancel by default. */
  g_signal_emit_by_name (label, "activate-link", "file:///etc/passwd", &handled);
  g_assert_true (handled);
  dialog = find_dialog (GTK_WINDOW (window));
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "Open This Link?");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "file:///etc/passwd"));
  g_assert_cmpstr (adw_message_dialog_get_default_response (dialog), ==, "cancel");
  g_assert_cmpstr (adw_message_dialog_get_close_response (dialog), ==, "cancel");
  adw_message_dialog_response (dialog, "cancel");
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* A link without a scheme goes nowhere, and says so. */
  handled = FALSE;
  g_signal_emit_by_name (label, "activate-link", "notes.md", &handled);
  g_assert_true (handled);
  dialog = find_dialog (GTK_WINDOW (window));
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "This Link Cannot Be Opened");
  g_assert_false (adw_message_dialog_has_response (dialog, "open"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Only what is near the view is drawn (aic-culling-box.c), and what is in
 * view always is: after a scroll, and after the view moved inside its
 * scrolled window with no scroll (what is above it shrank). Drawn is
 * checked in pixels, as GTK would draw the window now (its render nodes
 * as kept): with paragraphs all the way down, every band of the view a
 * line high has ink in it. */
#define BAND 24

typedef struct
{
  GtkWidget *window;
  GtkWidget *scroller;
  GtkWidget *spacer;
  GtkWidget *view;
} InView;

static void
assert_view_filled (InView     *f,
                    const char *where)
{
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (f->window));
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (f->scroller);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (f->scroller);
  int height = gtk_widget_get_height (f->scroller);
  gsize stride = (gsize) width * 4;
  g_autofree guchar *pixels = g_malloc (stride * height);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  aic_test_wait_frames (f->window, 3);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_texture_download (texture, pixels, stride);
  for (int band = 0; band + BAND <= height; band += BAND)
    {
      gboolean ink = FALSE;

      /* Premultiplied, on nothing: text is where alpha is. The right
       * edge, where an overlay scrollbar may show, is left out. */
      for (int y = band; y < band + BAND && !ink; y++)
        for (int x = 0; x < width - 24 && !ink; x++)
          ink = pixels[y * stride + x * 4 + 3] > 100;
      if (!ink)
        g_error ("%s: rows %d to %d of the view are blank", where, band, band + BAND);
    }
}

static void
scroll_to (InView *f,
           double  value)
{
  gtk_adjustment_set_value (gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (f->scroller)), value);
}

static void
test_draws_what_is_in_view (void)
{
  InView f = { 0 };
  g_autoptr(GString) text = g_string_new (NULL);
  GtkAdjustment *adjustment;
  GtkWidget *content = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *box, *group;
  guint n_groups = 0;
  double top;

  for (guint i = 0; i < 200; i++)
    g_string_append_printf (text, "Paragraph %u, with words enough to fill two lines of a narrow window, "
                            "or nearly.\n\n", i);
  f.window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f.window), 400, 300);
  f.scroller = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (f.scroller), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  f.spacer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_size_request (f.spacer, -1, 3000);
  f.view = aic_markdown_view_new ();
  gtk_box_append (GTK_BOX (content), f.spacer);
  gtk_box_append (GTK_BOX (content), f.view);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (f.scroller), content);
  gtk_window_set_child (GTK_WINDOW (f.window), f.scroller);
  aic_markdown_view_set_text (AIC_MARKDOWN_VIEW (f.view), text->str);
  gtk_window_present (GTK_WINDOW (f.window));
  aic_test_wait_frames (f.window, 3);

  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (f.scroller));
  box = gtk_widget_get_first_child (f.view);
  g_assert_true (AIC_IS_CULLING_BOX (box));
  for (group = gtk_widget_get_first_child (box); group; group = gtk_widget_get_next_sibling (group))
    n_groups++;
  g_assert_cmpuint (n_groups, ==, 7);
  g_test_message ("view %d px high, in a scrolled window of %d",
                  gtk_widget_get_height (f.view), gtk_widget_get_height (f.scroller));
  g_assert_cmpint (gtk_widget_get_height (f.view), >, 6000);

  /* Into the middle of the reply: one or two groups of seven drawn, and
   * of the one in view, not all of its blocks. */
  scroll_to (&f, 3000 + 4000);
  assert_view_filled (&f, "after a scroll");
  g_assert_cmpuint (aic_culling_box_get_n_drawn (AIC_CULLING_BOX (box)), >=, 1);
  g_assert_cmpuint (aic_culling_box_get_n_drawn (AIC_CULLING_BOX (box)), <=, 2);
  for (group = gtk_widget_get_first_child (box); group; group = gtk_widget_get_next_sibling (group))
    {
      graphene_rect_t bounds;

      g_assert_true (gtk_widget_compute_bounds (group, f.scroller, &bounds));
      if (bounds.origin.y <= 0 && bounds.origin.y + bounds.size.height >= gtk_widget_get_height (f.scroller))
        break;
    }
  g_assert_nonnull (group);
  g_assert_cmpuint (aic_culling_box_get_n_drawn (AIC_CULLING_BOX (group)), <, 32);
  g_assert_cmpuint (aic_culling_box_get_n_drawn (AIC_CULLING_BOX (group)), >=, 5);

  /* What is above the view shrinks: the view moves up under a scrolled
   * window that did not scroll, and what comes into view is drawn. */
  top = gtk_adjustment_get_value (adjustment);
  gtk_widget_set_size_request (f.spacer, -1, 1000);
  aic_test_wait_frames (f.window, 3);
  g_assert_cmpfloat (gtk_adjustment_get_value (adjustment), ==, top);
  assert_view_filled (&f, "after the view moved without a scroll");

  scroll_to (&f, gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment));
  assert_view_filled (&f, "at the end");
  scroll_to (&f, 1000);
  assert_view_filled (&f, "at the start of the reply");

  gtk_window_destroy (GTK_WINDOW (f.window));
}

int
main (int   argc,
      char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  gtk_source_init ();

  g_test_add_func ("/markdown-view/render", test_render);
  g_test_add_func ("/markdown-view/hanging-indent", test_hanging_indent);
  g_test_add_func ("/markdown-view/streaming-matches", test_streaming_matches);
  g_test_add_func ("/markdown-view/code-block-kept", test_code_block_kept);
  g_test_add_func ("/markdown-view/groups", test_groups);
  g_test_add_func ("/markdown-view/cost-does-not-grow", test_cost_does_not_grow);
  g_test_add_func ("/markdown-view/narrowest", test_narrowest);
  g_test_add_func ("/markdown-view/draws-what-is-in-view", test_draws_what_is_in_view);
  g_test_add_func ("/markdown-view/link-policy", test_link_policy);
  g_test_add_func ("/markdown-view/link-asks", test_link_asks);

  return g_test_run ();
}
