<!DOCTYPE html>
<!-- Reproduces a WCO publication page, English interface: header with the language switcher and navigation, breadcrumb, title, the publication's date as article:published_time (the home page lists it undated), its description, and the report as a PDF with its size. Text written for the sample; the publication is listed on samples/wco-home-en.html. -->
<html lang="en">
<head>
<meta charset="utf-8">
<title>Illicit Trade Report</title>
<meta property="article:published_time" content="2024-12-05">
<link rel="canonical" href="https://www.wcoomd.org/en/media/newsroom/2024/illicit-trade-report.aspx">
</head>
<body>
<div class="header"><ul class="language-switcher"><li><a href="/en/media/newsroom/2024/illicit-trade-report.aspx">english : english</a></li><li><a href="/fr/media/newsroom/2024/illicit-trade-report.aspx">french : français</a></li></ul>
<div class="meta-navigation"><a href="/en/sitemap.aspx">sitemap</a> | <a href="/en/faq.aspx">faq</a> | <a href="/en/search.aspx">search</a></div></div>
<div class="main-navigation"><ul><li><a href="/en/about-us.aspx">About us</a></li><li><a href="/en/topics.aspx">Topics</a></li><li><a href="/en/media.aspx">Media</a></li><li><a href="/en/members.aspx">Members</a></li></ul></div>
<div class="breadcrumb"><a href="/en.aspx">Home</a> &gt; <a href="/en/media.aspx">Media</a> &gt; <a href="/en/media/newsroom.aspx">Newsroom</a> &gt; <a href="/en/media/newsroom/2024.aspx">2024</a></div>
<div id="content" class="content">
<h1>Illicit Trade Report</h1>
<div class="text">
<p>The Illicit Trade Report, apart from the traditional areas of enforcement, also covers security (seizures of weapons, ammunition, explosives and chemical precursors) and environmental protection. It draws on the seizures Member administrations reported to the WCO's Customs Enforcement Network.</p>
<p>The report is published each year to help Customs administrations and their partners understand the trends in illicit trade and decide where to act.</p>
<ul class="documents">
<li><a href="/-/media/wco/public/global/pdf/topics/enforcement-and-compliance/activities-and-programmes/illicit-trade-report/itr-2023-en.pdf">Illicit Trade Report 2023 (PDF, 9.6 MB)</a></li>
</ul>
</div>
</div>
<div class="footer"><p>Copyright © 2024 World Customs Organization. All rights reserved.</p><a href="/en/terms-and-conditions.aspx">Terms and conditions</a> | <a href="/en/privacy.aspx">Privacy</a></div>
</body>
</html>
