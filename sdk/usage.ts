// Type-checked against types generated from openapi.yaml by openapi-typescript:
//   npx openapi-typescript openapi.yaml -o sdk/schema.d.ts && npx tsc -p sdk
import type { components, operations, paths } from "./schema";

type Article = components["schemas"]["Article"];
type ArticleListItem = components["schemas"]["ArticleListItem"];
type Profile = components["schemas"]["Profile"];
type ErrorBody = components["schemas"]["GenericErrorModel"];
type NewArticle = components["schemas"]["NewArticleRequest"];
type ListQuery = NonNullable<operations["GetArticles"]["parameters"]["query"]>;
type ListResponse =
  paths["/articles"]["get"]["responses"][200]["content"]["application/json"];

export const draft: NewArticle = {
  article: {
    title: "How to train your dragon",
    description: "Ever wonder how?",
    body: "You have to believe",
    tagList: ["dragons", "training"],
  },
};

export const query: ListQuery = { tag: "dragons", limit: 20, offset: 0 };

export function titles(page: ListResponse): string[] {
  const count: number = page.articlesCount;
  return page.articles.slice(0, count).map((item: ArticleListItem) => item.title);
}

export function byline(article: Article): string {
  const author: Profile = article.author;
  const image: string | null = author.image;
  const favorited: boolean = article.favorited;
  return `${article.title} by ${author.username}${image ? "" : " (no image)"}${favorited ? " *" : ""}`;
}

export function messages(error: ErrorBody): string[] {
  return Object.entries(error.errors).flatMap(([name, texts]) => texts.map((t) => `${name} ${t}`));
}

// A list item has no body: reading it must not type-check.
// @ts-expect-error
export const noBody = (item: ArticleListItem) => item.body;
