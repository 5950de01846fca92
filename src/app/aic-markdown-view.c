/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-app"

#include "config.h"

#include <glib/gi18n.h>
#include <gtksourceview/gtksource.h>
#include <adwaita.h>
#include <md4c.h>
#include <string.h>

#include "aic-culling-box.h"
#include "aic-markdown-view.h"
#include "aic-selectable.h"

/* Markdown shown as widgets while it arrives.
 *
 * Text is appended as it streams and rendered once per frame. Finished
 * top-level blocks (ended by a blank line outside a code fence, or by a
 * closing fence) are parsed once with md4c and never touched again; only
 * the open block at the end is re-rendered, and an open code block just
 * gets its new lines appended to its buffer. So the cost of each token
 * does not grow with the length of the message. */

struct _AicMarkdownView
{
  GtkWidget   parent_instance;

  GtkWidget  *box;
  GString    *text;
  gsize       stable_end;     /* text before this is rendered for good */
  gsize       scan_pos;       /* start of the first line not yet scanned */
  gboolean    in_fence;
  char        fence_char;
  guint       fence_len;
  gsize       fence_start;    /* where the open fence's block starts */
  gsize       fence_close_start;  /* the last closing fence line */
  gsize       fence_close_end;

  GPtrArray  *tail_widgets;   /* widgets of the open block */
  GtkSourceBuffer *tail_code; /* set while the tail is an open code block */
  gsize       tail_code_from; /* text already in tail_code, as an offset */
  gsize       tail_code_start;

  guint       tick_id;
  gulong      repair_id;
  GdkFrameClock *repair_clock;
  guint       n_blocks;
  guint       n_renders;
  gsize       parsed_bytes;
};

G_DEFINE_FINAL_TYPE (AicMarkdownView, aic_markdown_view, GTK_TYPE_WIDGET)

/* ---- rendering one piece of Markdown into widgets ---- */

typedef struct
{
  AicMarkdownView *view;
  GPtrArray       *out;        /* widgets made */
  GString         *markup;     /* inline content of the current leaf */
  GString         *code;
  char            *code_lang;
  guint            list_depth;
  guint            quote_depth;
  GArray          *list_counters;   /* 0 for bullets, next number else */
  gboolean         item_first;      /* next leaf starts a list item */
  int              heading;
  gboolean         in_code;
  gboolean         in_table;
  GtkWidget       *table;
  guint            table_row;
  guint            table_col;
} Renderer;

static void
copy_clicked_cb (GtkButton       *button,
                 GtkSourceBuffer *buffer)
{
  g_autofree char *text = NULL;
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (GTK_TEXT_BUFFER (buffer), &start, &end);
  text = gtk_text_buffer_get_text (GTK_TEXT_BUFFER (buffer), &start, &end, FALSE);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (button)), text);
  gtk_widget_set_tooltip_text (GTK_WIDGET (button), _("Copied"));
  gtk_button_set_icon_name (button, "object-select-symbolic");
}

static GtkSourceLanguage *
guess_language (const char *info)
{
  GtkSourceLanguageManager *manager = gtk_source_language_manager_get_default ();
  static const struct { const char *alias, *id; } aliases[] = {
    { "py", "python3" }, { "python", "python3" }, { "js", "js" }, { "javascript", "js" },
    { "ts", "typescript" }, { "sh", "sh" }, { "bash", "sh" }, { "shell", "sh" }, { "zsh", "sh" },
    { "c++", "cpp" }, { "cxx", "cpp" }, { "rs", "rust" }, { "yml", "yaml" }, { "md", "markdown" },
    { "html", "html" }, { "xml", "xml" }, { "json", "json" }, { "diff", "diff" }, { "patch", "diff" },
  };
  g_autofree char *lower = NULL;

  if (info == NULL || info[0] == '\0')
    return NULL;
  lower = g_ascii_strdown (info, -1);
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (g_str_equal (lower, aliases[i].alias))
      return gtk_source_language_manager_get_language (manager, aliases[i].id);
  return gtk_source_language_manager_get_language (manager, lower);
}

static void
update_scheme (GtkSourceBuffer *buffer)
{
  GtkSourceStyleSchemeManager *schemes = gtk_source_style_scheme_manager_get_default ();
  gboolean dark = adw_style_manager_get_dark (adw_style_manager_get_default ());

  gtk_source_buffer_set_style_scheme (buffer,
                                      gtk_source_style_scheme_manager_get_scheme (schemes, dark ? "Adwaita-dark" : "Adwaita"));
}

static GtkWidget *
make_code_block (const char       *code,
                 gsize             len,
                 const char       *lang,
                 GtkSourceBuffer **out_buffer)
{
  GtkSourceBuffer *buffer = gtk_source_buffer_new (NULL);
  GtkWidget *view, *overlay, *copy, *frame;
  GtkSourceLanguage *language = guess_language (lang);

  if (language != NULL)
    gtk_source_buffer_set_language (buffer, language);
  gtk_source_buffer_set_highlight_syntax (buffer, TRUE);
  update_scheme (buffer);
  g_signal_connect_object (adw_style_manager_get_default (), "notify::dark",
                           G_CALLBACK (update_scheme), buffer, G_CONNECT_SWAPPED);
  gtk_text_buffer_set_text (GTK_TEXT_BUFFER (buffer), code, len);

  view = gtk_source_view_new_with_buffer (buffer);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 8);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 10);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 36);
  gtk_accessible_update_property (GTK_ACCESSIBLE (view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  lang && lang[0] ? lang : _("Code"), -1);

  copy = gtk_button_new_from_icon_name ("edit-copy-symbolic");
  gtk_widget_set_tooltip_text (copy, _("Copy Code"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (copy), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy Code"), -1);
  gtk_widget_set_halign (copy, GTK_ALIGN_END);
  gtk_widget_set_valign (copy, GTK_ALIGN_START);
  gtk_widget_set_margin_top (copy, 4);
  gtk_widget_set_margin_end (copy, 4);
  gtk_widget_add_css_class (copy, "flat");
  gtk_widget_add_css_class (copy, "circular");
  g_signal_connect_object (copy, "clicked", G_CALLBACK (copy_clicked_cb), buffer, 0);

  overlay = gtk_overlay_new ();
  gtk_overlay_set_child (GTK_OVERLAY (overlay), view);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), copy);

  frame = gtk_frame_new (NULL);
  gtk_frame_set_child (GTK_FRAME (frame), overlay);
  gtk_widget_add_css_class (frame, "code-block");
  /* The frame's line is an inset shadow and the code is drawn on the
   * frame's own rounded background (style.css), so nothing needs
   * clipping to the rounded corners: clipped text wants shaders of its
   * own from GTK's GL renderer. */
  gtk_widget_set_overflow (frame, GTK_OVERFLOW_VISIBLE);

  if (out_buffer != NULL)
    *out_buffer = buffer;
  g_object_unref (buffer);   /* the view holds it */
  return frame;
}

/* A list item's marker column: its text lines up after it, first line
 * and continuation lines alike (a hanging indent). */
#define MARKER_WIDTH   22
#define MARKER_SPACING 6

static void
emit_at (Renderer  *r,
         GtkWidget *widget,
         gboolean   item_start)
{
  int margin = 18 * (int) (r->list_depth > 0 ? r->list_depth - 1 : 0) + 12 * (int) r->quote_depth;

  /* Text inside an item that does not start it sits where the item's
   * first line does, after the marker. */
  if (r->list_depth > 0)
    margin += item_start ? 6 : 6 + MARKER_WIDTH + MARKER_SPACING;
  gtk_widget_set_margin_start (widget, margin);
  if (r->quote_depth > 0)
    gtk_widget_add_css_class (widget, "markdown-quote");
  g_ptr_array_add (r->out, g_object_ref_sink (widget));
}

static void
emit (Renderer  *r,
      GtkWidget *widget)
{
  emit_at (r, widget, FALSE);
}

/* ---- links ---- */

/* A model writes the links in its answers, so a click is not trusted
 * like a link the user typed: web pages and mail open at once, through
 * GTK's launcher (the OpenURI portal in the Flatpak); anything else,
 * which can start a program or open a file, is asked about first. */
AicLinkPolicy
aic_link_policy (const char *uri)
{
  g_autofree char *scheme = g_uri_parse_scheme (uri);

  if (scheme == NULL)
    return AIC_LINK_POLICY_REFUSE;
  if (g_ascii_strcasecmp (scheme, "http") == 0 || g_ascii_strcasecmp (scheme, "https") == 0 ||
      g_ascii_strcasecmp (scheme, "mailto") == 0)
    return AIC_LINK_POLICY_OPEN;
  return AIC_LINK_POLICY_ASK;
}

static void
link_shown_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!gtk_show_uri_full_finish (GTK_WINDOW (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      AdwMessageDialog *dialog;

      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (object), _("Could Not Open the Link"),
                                                           error->message));
      adw_message_dialog_add_response (dialog, "close", _("_Close"));
      gtk_window_present (GTK_WINDOW (dialog));
    }
}

static void
open_link (GtkWindow  *window,
           const char *uri)
{
  gtk_show_uri_full (window, uri, GDK_CURRENT_TIME, NULL, link_shown_cb, NULL);
}

static void
link_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  gpointer          user_data)
{
  const char *uri = g_object_get_data (G_OBJECT (dialog), "uri");
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (dialog));

  if (g_strcmp0 (response, "open") == 0 && parent != NULL)
    open_link (parent, uri);
}

static gboolean
activate_link_cb (GtkLabel   *label,
                  const char *uri,
                  gpointer    user_data)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (label));
  GtkWindow *window = GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
  AicLinkPolicy policy = aic_link_policy (uri);
  AdwMessageDialog *dialog;
  g_autofree char *body = NULL;

  if (window == NULL)
    return TRUE;
  if (policy == AIC_LINK_POLICY_OPEN)
    {
      open_link (window, uri);
      return TRUE;
    }
  if (policy == AIC_LINK_POLICY_REFUSE)
    {
      /* Translators: %s is the link as the model wrote it. */
      body = g_strdup_printf (_("“%s” does not say where it goes, so it cannot be opened."), uri);
      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window, _("This Link Cannot Be Opened"), body));
      adw_message_dialog_add_response (dialog, "close", _("_Close"));
    }
  else
    {
      /* Translators: %s is a link such as file:///etc/passwd. */
      body = g_strdup_printf (_("The link goes to “%s”. It is not a web page: it can open a file or start a program "
                                "on this computer. Open it only if you expected it."), uri);
      dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (window, _("Open This Link?"), body));
      adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "open", _("_Open"), NULL);
      adw_message_dialog_set_response_appearance (dialog, "open", ADW_RESPONSE_DESTRUCTIVE);
      adw_message_dialog_set_default_response (dialog, "cancel");
      adw_message_dialog_set_close_response (dialog, "cancel");
      g_object_set_data_full (G_OBJECT (dialog), "uri", g_strdup (uri), g_free);
      g_signal_connect (dialog, "response", G_CALLBACK (link_response_cb), NULL);
    }
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static GtkWidget *
make_label (const char        *markup,
            GtkAccessibleRole  role)
{
  GtkWidget *label = g_object_new (GTK_TYPE_LABEL, "accessible-role", role, NULL);

  gtk_label_set_markup (GTK_LABEL (label), markup);
  aic_label_wrap_prose (GTK_LABEL (label));
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  aic_label_make_selectable (GTK_LABEL (label));
  g_signal_connect (label, "activate-link", G_CALLBACK (activate_link_cb), NULL);
  return label;
}

static void
flush_leaf (Renderer *r)
{
  g_autoptr(GString) markup = NULL;
  g_autofree char *marker = NULL;
  GtkWidget *label;

  if (r->markup->len == 0 && !r->item_first)
    return;

  markup = g_string_new (NULL);
  if (r->item_first && r->list_depth > 0)
    {
      guint counter = g_array_index (r->list_counters, guint, r->list_depth - 1);

      if (counter == 0)
        marker = g_strdup ("•");
      else
        {
          marker = g_strdup_printf ("%u.", counter);
          g_array_index (r->list_counters, guint, r->list_depth - 1) = counter + 1;
        }
    }
  r->item_first = FALSE;

  if (r->heading > 0)
    {
      static const char *sizes[] = { "xx-large", "x-large", "large", "medium", "medium", "medium" };
      g_string_append_printf (markup, "<span size=\"%s\" weight=\"bold\">%s</span>",
                              sizes[CLAMP (r->heading, 1, 6) - 1], r->markup->str);
    }
  else
    g_string_append (markup, r->markup->str);
  g_string_truncate (r->markup, 0);

  label = make_label (markup->str, r->heading > 0 ? GTK_ACCESSIBLE_ROLE_HEADING : GTK_ACCESSIBLE_ROLE_LABEL);
  if (r->in_table)
    {
      /* A cell is as narrow as its widest character, so that a wide
       * table still fits a narrow window. */
      gtk_label_set_width_chars (GTK_LABEL (label), -1);
      gtk_grid_attach (GTK_GRID (r->table), label, r->table_col, r->table_row, 1, 1);
      return;
    }
  if (marker != NULL)
    {
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, MARKER_SPACING);
      GtkWidget *mark = gtk_label_new (marker);

      gtk_widget_set_size_request (mark, MARKER_WIDTH, -1);
      gtk_label_set_xalign (GTK_LABEL (mark), 1);
      gtk_widget_set_valign (mark, GTK_ALIGN_START);
      gtk_widget_set_hexpand (label, TRUE);
      gtk_box_append (GTK_BOX (box), mark);
      gtk_box_append (GTK_BOX (box), label);
      emit_at (r, box, TRUE);
      return;
    }
  emit (r, label);
}

static int
enter_block (MD_BLOCKTYPE  type,
             void         *detail,
             void         *user_data)
{
  Renderer *r = user_data;

  switch (type)
    {
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      {
        guint start = type == MD_BLOCK_OL ? ((MD_BLOCK_OL_DETAIL *) detail)->start : 0;

        flush_leaf (r);
        r->list_depth++;
        g_array_set_size (r->list_counters, r->list_depth);
        g_array_index (r->list_counters, guint, r->list_depth - 1) = type == MD_BLOCK_OL ? MAX (start, 1) : 0;
      }
      break;
    case MD_BLOCK_LI:
      flush_leaf (r);
      r->item_first = TRUE;
      break;
    case MD_BLOCK_QUOTE:
      flush_leaf (r);
      r->quote_depth++;
      break;
    case MD_BLOCK_H:
      r->heading = ((MD_BLOCK_H_DETAIL *) detail)->level;
      break;
    case MD_BLOCK_CODE:
      {
        MD_BLOCK_CODE_DETAIL *code = detail;

        flush_leaf (r);
        r->in_code = TRUE;
        g_string_truncate (r->code, 0);
        g_free (r->code_lang);
        r->code_lang = code->lang.text ? g_strndup (code->lang.text, code->lang.size) : NULL;
      }
      break;
    case MD_BLOCK_TABLE:
      r->in_table = TRUE;
      r->table = gtk_grid_new ();
      gtk_grid_set_column_spacing (GTK_GRID (r->table), 18);
      gtk_grid_set_row_spacing (GTK_GRID (r->table), 4);
      gtk_widget_add_css_class (r->table, "markdown-table");
      r->table_row = 0;
      break;
    case MD_BLOCK_TR:
      r->table_col = 0;
      break;
    case MD_BLOCK_TH:
      g_string_append (r->markup, "<b>");
      break;
    case MD_BLOCK_HR:
      emit (r, gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
      break;
    default:
      break;
    }
  return 0;
}

static int
leave_block (MD_BLOCKTYPE  type,
             void         *detail,
             void         *user_data)
{
  Renderer *r = user_data;

  switch (type)
    {
    case MD_BLOCK_P:
    case MD_BLOCK_HTML:
      flush_leaf (r);
      break;
    case MD_BLOCK_H:
      flush_leaf (r);
      r->heading = 0;
      break;
    case MD_BLOCK_LI:
      flush_leaf (r);
      break;
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
      r->list_depth--;
      break;
    case MD_BLOCK_QUOTE:
      r->quote_depth--;
      break;
    case MD_BLOCK_CODE:
      r->in_code = FALSE;
      emit (r, make_code_block (r->code->str, r->code->len, r->code_lang, NULL));
      break;
    case MD_BLOCK_TH:
      g_string_append (r->markup, "</b>");
      G_GNUC_FALLTHROUGH;
    case MD_BLOCK_TD:
      flush_leaf (r);
      r->table_col++;
      break;
    case MD_BLOCK_TR:
      r->table_row++;
      break;
    case MD_BLOCK_TABLE:
      r->in_table = FALSE;
      emit (r, g_steal_pointer (&r->table));
      break;
    default:
      break;
    }
  return 0;
}

static int
enter_span (MD_SPANTYPE  type,
            void        *detail,
            void        *user_data)
{
  Renderer *r = user_data;

  switch (type)
    {
    case MD_SPAN_EM:     g_string_append (r->markup, "<i>"); break;
    case MD_SPAN_STRONG: g_string_append (r->markup, "<b>"); break;
    case MD_SPAN_CODE:   g_string_append (r->markup, "<tt>"); break;
    case MD_SPAN_DEL:    g_string_append (r->markup, "<s>"); break;
    case MD_SPAN_U:      g_string_append (r->markup, "<u>"); break;
    case MD_SPAN_A:
      {
        MD_SPAN_A_DETAIL *a = detail;
        g_autofree char *href = g_strndup (a->href.text, a->href.size);
        g_autofree char *escaped = g_markup_escape_text (href, -1);

        g_string_append_printf (r->markup, "<a href=\"%s\">", escaped);
      }
      break;
    default:
      break;
    }
  return 0;
}

static int
leave_span (MD_SPANTYPE  type,
            void        *detail,
            void        *user_data)
{
  Renderer *r = user_data;

  switch (type)
    {
    case MD_SPAN_EM:     g_string_append (r->markup, "</i>"); break;
    case MD_SPAN_STRONG: g_string_append (r->markup, "</b>"); break;
    case MD_SPAN_CODE:   g_string_append (r->markup, "</tt>"); break;
    case MD_SPAN_DEL:    g_string_append (r->markup, "</s>"); break;
    case MD_SPAN_U:      g_string_append (r->markup, "</u>"); break;
    case MD_SPAN_A:      g_string_append (r->markup, "</a>"); break;
    default:             break;
    }
  return 0;
}

static void
append_escaped (GString    *out,
                const char *text,
                gsize       len)
{
  g_autofree char *escaped = g_markup_escape_text (text, len);

  g_string_append (out, escaped);
}

static int
text_cb (MD_TEXTTYPE   type,
         const MD_CHAR *text,
         MD_SIZE        size,
         void          *user_data)
{
  Renderer *r = user_data;

  if (r->in_code)
    {
      g_string_append_len (r->code, text, size);
      return 0;
    }

  switch (type)
    {
    case MD_TEXT_BR:
      g_string_append_c (r->markup, '\n');
      break;
    case MD_TEXT_SOFTBR:
      g_string_append_c (r->markup, ' ');
      break;
    case MD_TEXT_NULLCHAR:
      g_string_append (r->markup, "\xEF\xBF\xBD");
      break;
    case MD_TEXT_ENTITY:
      {
        /* A few common ones; the rest stay as written. */
        static const struct { const char *name, *text; } entities[] = {
          { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" }, { "&nbsp;", " " },
        };
        const char *replacement = NULL;

        for (guint i = 0; i < G_N_ELEMENTS (entities); i++)
          if (strlen (entities[i].name) == size && memcmp (entities[i].name, text, size) == 0)
            replacement = entities[i].text;
        if (replacement != NULL)
          append_escaped (r->markup, replacement, -1);
        else
          append_escaped (r->markup, text, size);
      }
      break;
    default:
      append_escaped (r->markup, text, size);
      break;
    }
  return 0;
}

/* Parses @len bytes of Markdown into widgets, appended to @out. */
static void
render_markdown (AicMarkdownView *self,
                 const char      *text,
                 gsize            len,
                 GPtrArray       *out)
{
  Renderer r = { 0 };
  MD_PARSER parser = {
    0,
    MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_PERMISSIVEAUTOLINKS | MD_FLAG_TASKLISTS | MD_FLAG_NOHTML,
    enter_block, leave_block, enter_span, leave_span, text_cb, NULL, NULL
  };

  r.view = self;
  r.out = out;
  r.markup = g_string_new (NULL);
  r.code = g_string_new (NULL);
  r.list_counters = g_array_new (FALSE, TRUE, sizeof (guint));

  md_parse (text, (MD_SIZE) len, &parser, &r);
  flush_leaf (&r);
  self->parsed_bytes += len;

  g_string_free (r.markup, TRUE);
  g_string_free (r.code, TRUE);
  g_free (r.code_lang);
  g_array_unref (r.list_counters);
  g_clear_object (&r.table);
}

/* ---- the incremental part ---- */

/* Blocks go into groups of BLOCKS_PER_GROUP, the groups into the view's
 * box. A box lays out and snapshots all of its children whenever one of
 * them changes, so with every block in one box each frame of a streamed
 * reply cost more the longer the reply already was: per token, the last
 * tenth of a 60,000-token reply took 1.4× the first with the view
 * following it and 2.5× with the reply below the fold
 * (bench-chat-render 60000). In groups, the finished ones keep their
 * layout and render node, and a frame lays out the last group and the
 * list of groups. Both levels are AicCullingBoxes, which draw only what
 * is near the view: the cairo renderer draws every node it is given. */
#define BLOCKS_PER_GROUP 32
#define BLOCK_SPACING 8

static void
show_child (AicMarkdownView *self,
            GtkWidget       *widget)
{
  GtkWidget *group = gtk_widget_get_last_child (self->box);
  guint n = 0;

  for (GtkWidget *child = group ? gtk_widget_get_first_child (group) : NULL; child;
       child = gtk_widget_get_next_sibling (child))
    n++;
  if (group == NULL || n >= BLOCKS_PER_GROUP)
    {
      group = aic_culling_box_new (BLOCK_SPACING);
      gtk_box_append (GTK_BOX (self->box), group);
    }
  gtk_box_append (GTK_BOX (group), widget);
}

static void
remove_child (AicMarkdownView *self,
              GtkWidget       *widget)
{
  GtkWidget *group = gtk_widget_get_parent (widget);

  g_assert (gtk_widget_get_parent (group) == self->box);
  gtk_box_remove (GTK_BOX (group), widget);
  if (gtk_widget_get_first_child (group) == NULL)
    gtk_box_remove (GTK_BOX (self->box), group);
}

/* The last block shown, in whichever group it is. */
static GtkWidget *
last_shown_block (AicMarkdownView *self)
{
  for (GtkWidget *group = gtk_widget_get_last_child (self->box); group; group = gtk_widget_get_prev_sibling (group))
    for (GtkWidget *block = gtk_widget_get_last_child (group); block; block = gtk_widget_get_prev_sibling (block))
      if (gtk_widget_get_visible (block))
        return block;
  return NULL;
}

static void
remove_tail (AicMarkdownView *self)
{
  for (guint i = 0; i < self->tail_widgets->len; i++)
    remove_child (self, g_ptr_array_index (self->tail_widgets, i));
  g_ptr_array_set_size (self->tail_widgets, 0);
  self->tail_code = NULL;
}

static void
add_widgets (AicMarkdownView *self,
             GPtrArray       *widgets,
             gboolean         as_tail)
{
  for (guint i = 0; i < widgets->len; i++)
    {
      GtkWidget *widget = g_ptr_array_index (widgets, i);

      show_child (self, widget);
      if (as_tail)
        g_ptr_array_add (self->tail_widgets, widget);
    }
  if (!as_tail)
    self->n_blocks += widgets->len;
}

/* A fence line: up to 3 spaces, then 3+ backticks or tildes. */
static gboolean
fence_line (const char *line,
            gsize       len,
            char       *out_char,
            guint      *out_len)
{
  gsize i = 0;
  guint n = 0;
  char c;

  while (i < len && i < 3 && line[i] == ' ')
    i++;
  if (i >= len || (line[i] != '`' && line[i] != '~'))
    return FALSE;
  c = line[i];
  while (i < len && line[i] == c)
    i++, n++;
  if (n < 3)
    return FALSE;
  *out_char = c;
  *out_len = n;
  return TRUE;
}

static gboolean
blank_line (const char *line,
            gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
      return FALSE;
  return TRUE;
}

/* Closes a fence of @c × @min_len: at least as long, nothing but spaces
 * after it. */
static gboolean
closing_fence (const char *line,
               gsize       len,
               char        c,
               guint       min_len)
{
  gsize i = 0;
  guint n = 0;

  while (i < len && i < 3 && line[i] == ' ')
    i++;
  while (i < len && line[i] == c)
    i++, n++;
  return n >= min_len && blank_line (line + i, len - i);
}

/* The open code block's lines up to @upto go into its buffer. */
static void
append_code (AicMarkdownView *self,
             gsize            upto)
{
  GtkTextIter end;

  if (upto <= self->tail_code_from)
    return;
  gtk_text_buffer_get_end_iter (GTK_TEXT_BUFFER (self->tail_code), &end);
  gtk_text_buffer_insert (GTK_TEXT_BUFFER (self->tail_code), &end,
                          self->text->str + self->tail_code_from, upto - self->tail_code_from);
  self->parsed_bytes += upto - self->tail_code_from;
  self->tail_code_from = upto;
}

/* The open block's widgets stay as they are, rendered for good. */
static void
commit_tail (AicMarkdownView *self)
{
  self->n_blocks += self->tail_widgets->len;
  g_ptr_array_set_size (self->tail_widgets, 0);
  self->tail_code = NULL;
}

/* Whether @made, just rendered, can be shown by @shown, a label already
 * on screen: both labels of the same kind, indent and quoting, and
 * (@same_text) with the same text. */
static gboolean
same_label (GtkWidget *made,
            GtkWidget *shown,
            gboolean   same_text)
{
  return GTK_IS_LABEL (made) && GTK_IS_LABEL (shown) &&
         gtk_widget_get_margin_start (made) == gtk_widget_get_margin_start (shown) &&
         gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (made)) ==
         gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (shown)) &&
         gtk_widget_has_css_class (made, "markdown-quote") == gtk_widget_has_css_class (shown, "markdown-quote") &&
         (!same_text || g_str_equal (gtk_label_get_label (GTK_LABEL (made)), gtk_label_get_label (GTK_LABEL (shown))));
}

/* A code block that streamed in as the open tail is kept as it is when
 * its fence closes, rather than made again by the parser: a second
 * source view per block was the slowest frame of a streamed reply. Only
 * when what is committed is the block and blank lines after it. */
static gboolean
keep_code_tail (AicMarkdownView *self,
                gsize            commit_to)
{
  const char *text = self->text->str;

  if (self->tail_code == NULL || self->in_fence ||
      self->tail_code_start != self->stable_end ||
      self->fence_close_end <= self->stable_end || self->fence_close_end > commit_to ||
      strspn (text + self->fence_close_end, " \t\r\n") < commit_to - self->fence_close_end)
    return FALSE;

  /* The lines that came with the closing fence, up to it. */
  append_code (self, self->fence_close_start);
  commit_tail (self);
  self->stable_end = commit_to;
  return TRUE;
}

/* Scans the complete lines not yet scanned, and commits every finished
 * block: they are rendered once, for good. */
static void
commit_finished_blocks (AicMarkdownView *self)
{
  const char *text = self->text->str;
  gsize commit_to = self->stable_end;

  for (;;)
    {
      const char *nl = memchr (text + self->scan_pos, '\n', self->text->len - self->scan_pos);
      gsize line_start = self->scan_pos, line_len;
      char c;
      guint n;

      if (nl == NULL)
        break;
      line_len = nl - (text + line_start);
      self->scan_pos = line_start + line_len + 1;

      if (self->in_fence)
        {
          if (closing_fence (text + line_start, line_len, self->fence_char, self->fence_len))
            {
              self->in_fence = FALSE;
              commit_to = self->scan_pos;
              self->fence_close_start = line_start;
              self->fence_close_end = self->scan_pos;
            }
          continue;
        }

      if (fence_line (text + line_start, line_len, &c, &n))
        {
          /* What came before the fence is a block of its own. */
          commit_to = line_start;
          self->in_fence = TRUE;
          self->fence_char = c;
          self->fence_len = n;
          self->fence_start = line_start;
        }
      else if (blank_line (text + line_start, line_len))
        commit_to = self->scan_pos;
    }

  if (commit_to > self->stable_end && keep_code_tail (self, commit_to))
    return;
  if (commit_to > self->stable_end)
    {
      g_autoptr(GPtrArray) widgets = g_ptr_array_new_with_free_func (g_object_unref);

      render_markdown (self, text + self->stable_end, commit_to - self->stable_end, widgets);
      /* The usual case, a paragraph ending: the tail already shows it as
       * it will stay, and is kept rather than made and laid out again. */
      if (widgets->len == 1 && self->tail_widgets->len == 1 &&
          same_label (g_ptr_array_index (widgets, 0), g_ptr_array_index (self->tail_widgets, 0), TRUE))
        commit_tail (self);
      else
        {
          remove_tail (self);
          add_widgets (self, widgets, FALSE);
        }
      self->stable_end = commit_to;
    }
}

/* Re-renders the open block at the end; an open code block is extended in
 * place instead. */
static void
render_tail (AicMarkdownView *self)
{
  g_autoptr(GPtrArray) widgets = NULL;
  const char *tail = self->text->str + self->stable_end;
  gsize tail_len = self->text->len - self->stable_end;

  self->n_renders++;

  if (self->in_fence && self->tail_code != NULL && self->tail_code_start == self->fence_start)
    {
      /* Only complete lines go in, the fence line excluded. */
      append_code (self, self->scan_pos);
      return;
    }

  if (tail_len == 0)
    {
      remove_tail (self);
      return;
    }

  if (self->in_fence && self->stable_end == self->fence_start)
    {
      /* An open code block: show the complete lines after the fence line. */
      const char *nl = memchr (tail, '\n', tail_len);
      gsize body_from = nl ? (gsize) (nl - self->text->str) + 1 : self->text->len;
      gsize upto = MAX (self->scan_pos, body_from);
      g_autofree char *lang = NULL;
      GtkSourceBuffer *buffer = NULL;
      GtkWidget *block;
      const char *info;

      remove_tail (self);
      if (nl == NULL)
        return;   /* the fence line itself is still arriving */
      info = tail;
      while (*info == ' ' || *info == self->fence_char)
        info++;
      lang = g_strstrip (g_strndup (info, nl - info));

      block = make_code_block (self->text->str + body_from, upto - body_from, lang, &buffer);
      show_child (self, block);
      g_ptr_array_add (self->tail_widgets, block);
      self->tail_code = buffer;
      self->tail_code_start = self->fence_start;
      self->tail_code_from = upto;
      self->parsed_bytes += upto - body_from;
      return;
    }

  widgets = g_ptr_array_new_with_free_func (g_object_unref);
  render_markdown (self, tail, tail_len, widgets);

  /* The usual case, a paragraph growing: update the label in place rather
   * than replace it, which is cheaper and keeps screen readers on the
   * same object. */
  if (widgets->len == 1 && self->tail_widgets->len == 1 &&
      same_label (g_ptr_array_index (widgets, 0), g_ptr_array_index (self->tail_widgets, 0), FALSE))
    {
      gtk_label_set_markup (g_ptr_array_index (self->tail_widgets, 0),
                            gtk_label_get_label (g_ptr_array_index (widgets, 0)));
      return;
    }

  remove_tail (self);
  add_widgets (self, widgets, TRUE);
}

/**
 * aic_markdown_view_flush:
 * Renders what was appended now rather than at the next frame.
 */
void
aic_markdown_view_flush (AicMarkdownView *self)
{
  g_return_if_fail (AIC_IS_MARKDOWN_VIEW (self));

  commit_finished_blocks (self);
  render_tail (self);
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  AicMarkdownView *self = AIC_MARKDOWN_VIEW (widget);

  self->tick_id = 0;
  aic_markdown_view_flush (self);
  return G_SOURCE_REMOVE;
}

/**
 * aic_markdown_view_append:
 * Adds streamed text; it is shown at the next frame, together with
 * whatever else arrived until then.
 */
void
aic_markdown_view_append (AicMarkdownView *self,
                          const char      *text)
{
  g_return_if_fail (AIC_IS_MARKDOWN_VIEW (self));

  g_string_append (self->text, text);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

void
aic_markdown_view_set_text (AicMarkdownView *self,
                            const char      *text)
{
  GtkWidget *group;

  g_return_if_fail (AIC_IS_MARKDOWN_VIEW (self));

  while ((group = gtk_widget_get_first_child (self->box)) != NULL)
    gtk_box_remove (GTK_BOX (self->box), group);
  g_ptr_array_set_size (self->tail_widgets, 0);
  self->tail_code = NULL;
  g_string_assign (self->text, text ? text : "");
  self->stable_end = self->scan_pos = 0;
  self->in_fence = FALSE;
  self->n_blocks = 0;
  aic_markdown_view_flush (self);
}

/**
 * aic_markdown_view_warm_up:
 *
 * Loads what the first code block of a session needs (GtkSourceView's
 * language and style definitions): that took 40–50 ms inside the frame
 * that showed the first code block of a streamed reply. Call it once
 * when idle.
 */
void
aic_markdown_view_warm_up (void)
{
  static gboolean done;
  GtkWidget *block;

  if (done)
    return;
  done = TRUE;
  block = make_code_block ("int x = 0;\n", 11, "c", NULL);
  g_object_ref_sink (block);
  g_object_unref (block);
}

const char *
aic_markdown_view_get_text (AicMarkdownView *self)
{
  g_return_val_if_fail (AIC_IS_MARKDOWN_VIEW (self), NULL);
  return self->text->str;
}

/* For tests and benchmarks: blocks rendered for good, tail renders, and
 * bytes handed to the parser or code buffers in all. */
guint
aic_markdown_view_get_n_blocks (AicMarkdownView *self)
{
  return self->n_blocks;
}

guint
aic_markdown_view_get_n_renders (AicMarkdownView *self)
{
  return self->n_renders;
}

gsize
aic_markdown_view_get_parsed_bytes (AicMarkdownView *self)
{
  return self->parsed_bytes;
}

static void
aic_markdown_view_dispose (GObject *object)
{
  AicMarkdownView *self = AIC_MARKDOWN_VIEW (object);

  if (self->tick_id != 0)
    gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
  self->tick_id = 0;
  if (self->repair_clock != NULL)
    g_clear_signal_handler (&self->repair_id, self->repair_clock);
  g_clear_object (&self->repair_clock);
  g_clear_pointer (&self->box, gtk_widget_unparent);

  G_OBJECT_CLASS (aic_markdown_view_parent_class)->dispose (object);
}

static void
aic_markdown_view_finalize (GObject *object)
{
  AicMarkdownView *self = AIC_MARKDOWN_VIEW (object);

  g_string_free (self->text, TRUE);
  g_ptr_array_unref (self->tail_widgets);

  G_OBJECT_CLASS (aic_markdown_view_parent_class)->finalize (object);
}

static void
aic_markdown_view_measure (GtkWidget      *widget,
                           GtkOrientation  orientation,
                           int             for_size,
                           int            *minimum,
                           int            *natural,
                           int            *minimum_baseline,
                           int            *natural_baseline)
{
  gtk_widget_measure (AIC_MARKDOWN_VIEW (widget)->box, orientation, for_size,
                      minimum, natural, minimum_baseline, natural_baseline);
}

static GtkSizeRequestMode
aic_markdown_view_get_request_mode (GtkWidget *widget)
{
  return gtk_widget_get_request_mode (AIC_MARKDOWN_VIEW (widget)->box);
}

static void
repair_size_cb (GdkFrameClock   *clock,
                AicMarkdownView *self)
{
  GtkWidget *last = last_shown_block (self);

  g_clear_signal_handler (&self->repair_id, clock);
  g_clear_object (&self->repair_clock);
  /* From the block up: whichever of its boxes kept the old size is
   * measured again. */
  gtk_widget_queue_resize (last != NULL ? last : self->box);
}

/* GTK 4.8 loses a size change that comes between a widget's measuring and
 * its allocation: gtk_widget_queue_resize() stops at a widget that still
 * waits for its allocation, without forgetting what it measured
 * (gtkwidget.c, gtk_widget_queue_resize_internal). A reply made for real
 * as it came into view at start (aic-message-row.c) was once allocated
 * the height its text had before one paragraph was measured, and drawn
 * over its own buttons until something else changed. A box gives its
 * children what they ask for even when that is more than it has, so the
 * last block ending below the view's box is the sign: the boxes from that
 * block up are measured again once the window's layout is done, and the
 * frame clock lays the window out again before drawing it. */
static void
aic_markdown_view_size_allocate (GtkWidget *widget,
                                 int        width,
                                 int        height,
                                 int        baseline)
{
  AicMarkdownView *self = AIC_MARKDOWN_VIEW (widget);
  GtkWidget *last;
  graphene_rect_t bounds;

  gtk_widget_allocate (self->box, width, height, baseline, NULL);
  last = last_shown_block (self);
  if (last != NULL && self->repair_id == 0 &&
      gtk_widget_compute_bounds (last, self->box, &bounds) &&
      bounds.origin.y + bounds.size.height > height + 1 &&
      (self->repair_clock = gtk_widget_get_frame_clock (widget)) != NULL)
    {
      g_object_ref (self->repair_clock);
      self->repair_id = g_signal_connect_after (self->repair_clock, "layout", G_CALLBACK (repair_size_cb), self);
    }
}

static void
aic_markdown_view_class_init (AicMarkdownViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = aic_markdown_view_dispose;
  object_class->finalize = aic_markdown_view_finalize;
  widget_class->get_request_mode = aic_markdown_view_get_request_mode;
  widget_class->measure = aic_markdown_view_measure;
  widget_class->size_allocate = aic_markdown_view_size_allocate;

  gtk_widget_class_set_css_name (widget_class, "markdown");
}

static void
aic_markdown_view_init (AicMarkdownView *self)
{
  self->text = g_string_new (NULL);
  self->tail_widgets = g_ptr_array_new ();
  self->box = aic_culling_box_new (BLOCK_SPACING);
  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
}

GtkWidget *
aic_markdown_view_new (void)
{
  return g_object_new (AIC_TYPE_MARKDOWN_VIEW, NULL);
}
